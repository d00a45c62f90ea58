/**
 * Indicators of a reported phishing email: extractIndicators() lists what identifies the messages
 * a report forwards (forwarded.ts): senders, URLs, domains, IP addresses, attachment hashes, the
 * Message-ID. A URL, an attachment hash or a Message-ID seen in two reports means the same
 * phishing (LINKING_TYPES), so reports from different people can be joined on indicatorId().
 * Values are shown defanged (defang.ts).
 *
 * Everything here is read from the message; nothing is ever fetched or resolved.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { domainToASCII } from 'node:url';
import sanitizeHtml from 'sanitize-html';
import { defang, refang } from './defang';
import type { Forwarded } from './forwarded';
import { sha256 } from '../lib/hash';

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

/** Indicators per report; the most telling come first, so a flood of URLs cannot push out the sender. */
export const MAX_INDICATORS = 200;
/** Longer URLs give a domain indicator but no URL indicator. */
export const MAX_URL_LENGTH = 2048;

/** A stable key for one indicator, for a unique index: the type and a hash of the value. */
export const indicatorId = (i: Pick<Indicator, 'type' | 'value'>): string => `${i.type}:${sha256(i.value)}`;

export const isLinking = (i: Pick<Indicator, 'type'>): boolean => LINKING_TYPES.includes(i.type);

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
