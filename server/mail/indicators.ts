/**
 * Indicators of a reported phishing email. People report phishing by forwarding it to the desk,
 * as an attached message (message/rfc822, an .eml file) or inline under a client's "Forwarded
 * message" line; forwardedMessages() finds those messages and extractIndicators() lists what
 * identifies them: senders, URLs, domains, IP addresses, attachment hashes, the Message-ID.
 * A URL, an attachment hash or a Message-ID seen in two reports means the same phishing
 * (LINKING_TYPES), so reports from different people can be joined on indicatorId().
 *
 * Everything here is read from the message; nothing is ever fetched or resolved.
 *
 * Defanging, for display (CyberChef's convention): "http" becomes "hxxp" ("https" "hxxps", "ftp"
 * "fxp"), every dot of a host name, domain or IPv4 address becomes "[.]", the "@" of an address
 * "[@]", and the colons of an IPv6 address "[:]". The path and query of a URL are left as they are.
 * Defanging is idempotent, and refang() undoes it along with the other forms reporters use
 * ("hXXp", "[dot]", "(.)", "[at]", "[://]"), so pasted-in defanged indicators match real ones.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import sanitizeHtml from 'sanitize-html';
import { DEFAULT_PARSE_LIMITS, parseMessage, type ParseLimits, type ParsedMessage } from './parse';
import { sha256 } from './raw';

export interface ForwardedAttachment {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
}

export interface Forwarded {
  kind: 'attachment' | 'inline';
  /** Addresses in lower case. */
  from?: string;
  replyTo?: string;
  returnPath?: string;
  to?: string;
  subject?: string;
  date?: string;
  messageId?: string;
  /** Received header values of an attached message, top (newest) first; inline forwards have none. */
  received?: string[];
  text: string;
  html?: string;
  attachments: ForwardedAttachment[];
}

export type IndicatorType =
  | 'sender'
  | 'reply-to'
  | 'return-path'
  | 'subject'
  | 'url'
  | 'domain'
  | 'ip'
  | 'attachment-sha256'
  | 'message-id';

export interface Indicator {
  type: IndicatorType;
  /** Normalized, for matching: what indicatorId() hashes. */
  value: string;
  /** Defanged, for showing: never a live link. */
  display: string;
}

/** The types that, shared by two reports, mean the same phishing (a sender or domain may not). */
export const LINKING_TYPES: readonly IndicatorType[] = ['attachment-sha256', 'url', 'message-id'];

/** Attached messages parsed per report, and the largest parsed. */
export const MAX_FORWARDED = 5;
export const MAX_FORWARDED_BYTES = 10 * 1024 * 1024;
/** Indicators per report; the most telling come first, so a flood of URLs cannot push out the sender. */
export const MAX_INDICATORS = 200;
/** Longer URLs give a domain indicator but no URL indicator. */
export const MAX_URL_LENGTH = 2048;

/** A stable key for one indicator, for a unique index: the type and a hash of the value. */
export const indicatorId = (i: Pick<Indicator, 'type' | 'value'>): string => `${i.type}:${sha256(i.value)}`;

export const isLinking = (i: Pick<Indicator, 'type'>): boolean => LINKING_TYPES.includes(i.type);

// ---------------------------------------------------------------------------------------------
// Finding the forwarded messages

/**
 * Every message forwarded in `parsed`: attached messages first (parsed, one level deep: what they
 * attach in turn is listed, not opened), then inline forwards found in the text, MAX_FORWARDED in
 * all. An attached message that cannot be parsed (past a time limit, say) is skipped. parseMessage
 * keeps a message/rfc822 part as an attachment even when it is marked inline (ignoreEmbedded).
 */
export async function forwardedMessages(
  parsed: ParsedMessage,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): Promise<Forwarded[]> {
  const out: Forwarded[] = [];
  for (const a of parsed.attachments) {
    if (out.length >= MAX_FORWARDED) break;
    if (!isAttachedMessage(a) || a.size > MAX_FORWARDED_BYTES) continue;
    let inner: ParsedMessage;
    try {
      inner = await parseMessage(a.content, limits);
    } catch {
      continue;
    }
    out.push(fromAttached(inner));
  }
  for (const f of inlineForwards(parsed.text)) {
    if (out.length >= MAX_FORWARDED) break;
    out.push(f);
  }
  return out;
}

const isAttachedMessage = (a: { filename: string; contentType: string }) =>
  /^message\/(?:rfc822|global)$/i.test(a.contentType) || /\.eml$/i.test(a.filename);

function fromAttached(m: ParsedMessage): Forwarded {
  const header = (name: string) => m.headers.filter((h) => h.name.toLowerCase() === name).map((h) => h.value);
  return {
    kind: 'attachment',
    from: m.from?.address,
    replyTo: m.replyTo[0]?.address,
    returnPath: address(header('return-path')[0] ?? ''),
    to: m.to[0]?.address,
    subject: m.subject || undefined,
    date: m.date?.toISOString(),
    messageId: m.messageId,
    received: header('received'),
    text: m.text,
    html: m.html,
    attachments: m.attachments.map(({ filename, contentType, size, sha256 }) => ({
      filename,
      contentType,
      size,
      sha256,
    })),
  };
}

/**
 * The line each client puts above an inline forward: Gmail "---------- Forwarded message ---------",
 * Thunderbird "-------- Forwarded Message --------" (and "Original Message" on replies), Outlook
 * "-----Original Message-----", Apple Mail "Begin forwarded message:". Outlook on the web and newer
 * Outlooks draw a line of underscores instead, which counts only when a From line follows.
 */
const MARKER_PHRASES = [
  ...['forwarded message', 'original message', 'weitergeleitete nachricht', 'ursprüngliche nachricht'],
  ...['message transféré', "message d'origine", 'mensaje reenviado', 'mensaje original'],
  ...['messaggio inoltrato', 'messaggio originale', 'doorgestuurd bericht', 'oorspronkelijk bericht'],
];
const MARKER = new RegExp(
  `^[ \\t>]*(?:-{2,}[ \\t]*(?:${MARKER_PHRASES.join('|')})[ \\t]*-{2,}|begin forwarded message:)[ \\t]*$`,
  'iu',
);
const RULE = /^[ \t>]*_{16,}[ \t]*$/;

/** Header names of an inline forward, in English and in the languages clients localise them to. */
const FIELDS = new Map<string, keyof Forwarded | 'ignore'>();
const field = (key: keyof Forwarded | 'ignore', names: string[]) => {
  for (const n of names) FIELDS.set(n, key);
};
field('from', ['from', 'von', 'de', 'da', 'van', 'från', 'fra', 'od']);
field('replyTo', ['reply-to', 'antwort an', 'répondre à']);
field('returnPath', ['return-path']);
field('subject', [
  'subject',
  'betreff',
  'objet',
  'asunto',
  'oggetto',
  'assunto',
  'onderwerp',
  'ämne',
  'emne',
]);
field('date', ['date', 'sent', 'datum', 'gesendet', 'envoyé', 'enviado', 'inviato', 'verzonden', 'fecha']);
field('to', ['to', 'an', 'à', 'a', 'para', 'aan', 'till', 'til']);
field('messageId', ['message-id']);
field('ignore', ['cc', 'bcc', 'kopie', 'cci', 'importance', 'priority', 'attachments', 'anlagen']);

const HEADER_LINE = /^[ \t]*\*?([\p{L}][\p{L} -]{0,20}?)\*?[ \t]*:(?!\/\/)\*?[ \t]*(.*)$/u;

/** Inline forwards in a text body, one per marker, each ending where the next one starts. */
export function inlineForwards(text: string): Forwarded[] {
  const lines = text.split(/\r?\n/);
  const starts: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (MARKER.test(line)) starts.push(i);
    else if (RULE.test(line) && /^[\s>]*\*?(?:from|von|de)\*?:/i.test(nextNonBlank(lines, i + 1)))
      starts.push(i);
  }
  return starts.map((start, n) => inlineForward(lines.slice(start + 1, starts[n + 1] ?? lines.length)));
}

function nextNonBlank(lines: string[], from: number): string {
  for (let i = from; i < Math.min(lines.length, from + 3); i++) if (lines[i]!.trim()) return lines[i]!;
  return '';
}

function inlineForward(block: string[]): Forwarded {
  // Apple Mail and some others quote the forwarded message; take one level of quoting off.
  const first = block.find((l) => l.trim()) ?? '';
  const lines = /^\s*>/.test(first) ? block.map((l) => l.replace(/^[ \t]*>[ \t]?/, '')) : block;
  const forwarded: Forwarded = { kind: 'inline', text: '', attachments: [] };

  let i = 0;
  while (i < lines.length && !lines[i]!.trim() && i < 3) i++;
  let last: keyof Forwarded | 'ignore' | undefined;
  const values: Partial<Record<keyof Forwarded, string>> = {};
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.trim()) {
      i++;
      break;
    }
    const m = HEADER_LINE.exec(line);
    const key = m ? FIELDS.get(m[1]!.trim().toLowerCase()) : undefined;
    if (m && key) {
      last = key;
      if (key !== 'ignore' && values[key] === undefined) values[key] = m[2]!.trim().slice(0, 998);
    } else if (/^[ \t]/.test(line) && last) {
      // A folded or wrapped header line continues the one above.
      if (last !== 'ignore' && values[last] !== undefined)
        values[last] = `${values[last]} ${line.trim()}`.slice(0, 998);
    } else break;
  }

  if (values.from) forwarded.from = address(values.from);
  if (values.replyTo) forwarded.replyTo = address(values.replyTo);
  if (values.returnPath) forwarded.returnPath = address(values.returnPath);
  if (values.to) forwarded.to = address(values.to);
  if (values.subject) forwarded.subject = values.subject;
  if (values.date) forwarded.date = values.date;
  if (values.messageId) forwarded.messageId = values.messageId;
  forwarded.text = lines.slice(i).join('\n').trim();
  return forwarded;
}

/** The first email address in a header value ("Name <a@b>", "Name [mailto:a@b]", "a@b"), lower case. */
function address(value: string): string | undefined {
  const m = /[^\s<>"'[\]():;,]+@[^\s<>"'[\]():;,]+/.exec(refang(value.slice(0, 998)));
  return m ? m[0].toLowerCase().replace(/\.+$/, '') : undefined;
}

// ---------------------------------------------------------------------------------------------
// Extracting indicators

/** Addresses that say nothing about a sender: private, loopback, link-local, CGNAT, multicast. */
const NOT_PUBLIC = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['224.0.0.0', 3],
] as const)
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 127],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const)
  NOT_PUBLIC.addSubnet(net, prefix, 'ipv6');

/**
 * The indicators of the forwarded messages, distinct by (type, value), at most MAX_INDICATORS.
 * Headers come first (Message-ID, addresses, subject, their domains, attachment hashes), then the
 * Received addresses, then what the bodies hold: URLs (each followed by its host), then addresses.
 */
export function extractIndicators(forwarded: Forwarded[]): Indicator[] {
  const out: Indicator[] = [];
  const seen = new Set<string>();
  const full = () => out.length >= MAX_INDICATORS;
  const add = (type: IndicatorType, value: string | undefined, display = value) => {
    if (!value || full()) return;
    const key = `${type}\u0000${value}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ type, value, display: defang(display ?? value) });
  };
  const addEmail = (type: IndicatorType, value: string | undefined) => {
    const a = value && normalizeEmail(value);
    if (a) add(type, a);
  };
  const addIp = (ip: string) => {
    const v = normalizeIp(ip);
    if (v) add('ip', v);
  };
  const addHost = (host: string) => {
    if (isIPv4(host) || isIPv6(host)) addIp(host);
    else add('domain', normalizeDomain(host));
  };
  const addUrl = (raw: string) => {
    const url = normalizeUrl(raw);
    if (!url) return;
    if (url.href.length <= MAX_URL_LENGTH) add('url', url.href);
    addHost(url.hostname.replace(/^\[|\]$/g, ''));
  };

  for (const f of forwarded) {
    if (f.messageId) add('message-id', normalizeMessageId(f.messageId));
    addEmail('sender', f.from);
    addEmail('reply-to', f.replyTo);
    addEmail('return-path', f.returnPath);
    if (f.subject?.trim()) {
      const subject = f.subject.replace(/\s+/g, ' ').trim();
      add('subject', subject.toLowerCase(), subject);
    }
  }
  for (const f of forwarded)
    for (const a of [f.from, f.replyTo, f.returnPath]) {
      const domain = a && normalizeEmail(a)?.split('@')[1];
      if (domain) addHost(domain.replace(/^\[|\]$/g, '').replace(/^ipv6:/i, ''));
    }
  for (const f of forwarded) for (const a of f.attachments) add('attachment-sha256', a.sha256.toLowerCase());
  for (const f of forwarded) for (const r of f.received ?? []) for (const ip of ipsIn(r)) addIp(ip);

  for (const f of forwarded) {
    if (full()) break;
    if (f.html) for (const u of urlsInHtml(f.html, full)) addUrl(u);
    for (const u of urlsInText(f.text, full)) addUrl(u);
    for (const ip of ipsIn(refang(f.text), full)) addIp(ip);
  }
  return out;
}

/** Attributes that hold a URL a client would follow or load. */
const URL_ATTRIBUTES = ['href', 'src', 'action', 'formaction', 'background', 'poster', 'data', 'xlink:href'];

/** URLs in HTML attributes (href, src, srcset, form actions, CSS url()), read by sanitize-html's parser. */
function urlsInHtml(html: string, full: () => boolean): string[] {
  const urls: string[] = [];
  sanitizeHtml(html, {
    allowedTags: [],
    allowedAttributes: {},
    onOpenTag: (tag, attribs) => {
      if (full()) return;
      for (const [name, value] of Object.entries(attribs)) {
        const n = name.toLowerCase();
        if (URL_ATTRIBUTES.includes(n)) urls.push(value.trim());
        else if (n === 'srcset' || n === 'imagesrcset')
          for (const candidate of value.split(',')) urls.push(candidate.trim().split(/\s+/)[0] ?? '');
        else if (n === 'style') for (const m of value.matchAll(CSS_URL)) urls.push(m[1]!);
        else if (tag === 'meta' && n === 'content' && /refresh/i.test(attribs['http-equiv'] ?? ''))
          urls.push(value.replace(/^[^;]*;\s*url\s*=\s*/i, '').replace(/^['"]|['"]$/g, ''));
      }
    },
  });
  return urls;
}

const CSS_URL = /url\(\s*['"]?([^'")\s]+)/gi;

/** Scheme-ful URLs in text, defanged forms ("hxxp://evil[.]example") included. */
function urlsInText(text: string, full: () => boolean): string[] {
  const urls: string[] = [];
  for (const m of refang(text).matchAll(/\b(?:https?|ftp):\/\/[^\s<>"'`{}|\\^]+/gi)) {
    if (full()) break;
    urls.push(m[0]);
  }
  return urls;
}

/** Takes off what a sentence puts after a URL; a closing bracket stays when the URL opened one. */
function trimUrl(url: string): string {
  const count: Record<string, number> = { '(': 0, ')': 0, '[': 0, ']': 0, '{': 0, '}': 0 };
  for (const c of url) if (c in count) count[c]!++;
  let end = url.length;
  while (end > 0) {
    const c = url[end - 1]!;
    if (!'.,;:!?>"\')]}*'.includes(c)) break;
    const open = { ')': '(', ']': '[', '}': '{' }[c];
    if (open) {
      if (count[open]! >= count[c]!) break;
      count[c]!--;
    }
    end--;
  }
  return url.slice(0, end);
}

/**
 * A URL for matching: refanged, trailing punctuation off, protocol-relative read as https, scheme
 * and host in lower case (IDN hosts in punycode, numeric hosts as dotted quads), default port,
 * empty query and fragment dropped. The fragment never leaves the browser and often carries the
 * victim's address, so two reports of one campaign would not match with it.
 */
export function normalizeUrl(raw: string): URL | undefined {
  let s = trimUrl(refang(raw.trim()));
  if (s.startsWith('//')) s = `https:${s}`;
  if (!/^(?:https?|ftp):\/\//i.test(s)) return undefined;
  let url: URL;
  try {
    url = new URL(s);
  } catch {
    return undefined;
  }
  if (!url.hostname) return undefined;
  url.hash = '';
  if (!url.search) url.search = ''; // "/login?" is "/login"
  return url;
}

function normalizeEmail(value: string): string | undefined {
  const a = refang(value).trim().toLowerCase();
  const at = a.lastIndexOf('@');
  if (at <= 0 || at === a.length - 1) return undefined;
  const domain = a.slice(at + 1);
  const ascii = domain.startsWith('[') ? domain : domainToASCII(domain);
  return ascii ? `${a.slice(0, at)}@${ascii}` : a;
}

function normalizeDomain(host: string): string | undefined {
  const d = domainToASCII(host.toLowerCase().replace(/\.+$/, ''));
  return d && d.includes('.') ? d : undefined;
}

/** An IP address in canonical form (IPv6 compressed, lower case), or undefined if private or invalid. */
function normalizeIp(ip: string): string | undefined {
  if (isIPv4(ip)) return NOT_PUBLIC.check(ip, 'ipv4') ? undefined : ip;
  if (!isIPv6(ip)) return undefined;
  const canonical = new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  return NOT_PUBLIC.check(canonical, 'ipv6') ? undefined : canonical;
}

/**
 * A Message-ID as parseMessage gives one, in angle brackets, at most a header line long; case is
 * kept (the left part is case-sensitive).
 */
const normalizeMessageId = (id: string) => `<${id.trim().replace(/^<|>$/g, '').trim().slice(0, 996)}>`;

const IPV4 =
  /(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?!\.?\w)/g;
const IPV6_CANDIDATE = /(?<![\w:.])(?:[0-9a-f]{0,4}:){2,7}[0-9a-f]{0,4}(?![\w:])/gi;

/** IPv4 and IPv6 addresses in text or a Received header ("[IPv6:2001:db8::1]" included). */
function ipsIn(text: string, full: () => boolean = () => false): string[] {
  const ips: string[] = [];
  for (const m of text.matchAll(IPV4)) {
    if (full()) return ips;
    ips.push(m[0]);
  }
  for (const m of text.replace(/\bipv6:/gi, 'IPv6 ').matchAll(IPV6_CANDIDATE)) {
    if (full()) return ips;
    if (isIPv6(m[0])) ips.push(m[0]);
  }
  return ips;
}

// ---------------------------------------------------------------------------------------------
// Defanging

/** Undoes common defanging ("hxxps[://]evil[.]example", "user[at]evil(.)example"). */
export function refang(text: string): string {
  return text
    .replace(/\[:\/\/\]/g, '://')
    .replace(/\[:\]/g, ':')
    .replace(/\[\/\]/g, '/')
    .replace(/\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}/gi, '.')
    .replace(/\[@\]|\(@\)|\{@\}|\[at\]|\(at\)/gi, '@')
    .replace(/\bh(?:xx|\*\*|x\*|\*x|tx|xt)p(s?):\/\//gi, 'http$1://')
    .replace(/\bfxp:\/\//gi, 'ftp://');
}

/** A word of text, as defang() takes it: a URL, an address, a host name, or no indicator at all. */
const WORD = /[^\s<>()"',;]+/g;

/**
 * Makes a value (or every URL, address, host name and IPv4 address in a short text such as a
 * subject) safe to show: no viewer will turn it into a link. See the module comment for the scheme.
 * Meant for values of a few kilobytes at most, as extractIndicators() gives it.
 */
export function defang(value: string): string {
  if (isIPv6(value)) return value.replace(/(?<!\[):(?!\])/g, '[:]');
  return value.replace(WORD, (word) => {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(word)?.[1];
    if (scheme) {
      const rest = word.slice(scheme.length + 3);
      const end = authorityEnd(rest);
      const fanged = scheme.replace(/^http/i, 'hxxp').replace(/^ftp$/i, 'fxp');
      return `${fanged}://${dots(rest.slice(0, end).replace(/(?<!\[)@(?!\])/g, '[@]'))}${rest.slice(end)}`;
    }
    const at = word.lastIndexOf('@');
    if (at > 0 && word[at - 1] !== '[') return `${word.slice(0, at)}[@]${dots(word.slice(at + 1))}`;
    // A host name, maybe followed by a path or a full stop: "evil.example/login", "evil.example."
    const end = authorityEnd(word);
    let host = word.slice(0, end);
    while (host.endsWith('.')) host = host.slice(0, -1);
    const labels = host.split(/\[\.\]|\./);
    const isIp = labels.length === 4 && labels.every((l) => /^\d{1,3}$/.test(l));
    const isName =
      labels.length > 1 && labels.every((l) => /^[a-z0-9-]+$/i.test(l)) && /^[a-z]/i.test(labels.at(-1)!);
    return isIp || isName ? dots(host) + word.slice(host.length) : word;
  });
}

/** Where the host of a URL (or of a scheme-less "host/path") ends. */
function authorityEnd(s: string): number {
  const i = s.search(/[/?#]/);
  return i === -1 ? s.length : i;
}

const dots = (s: string) => s.replace(/(?<!\[)\.(?!\])/g, '[.]');
