import { messageIdsIn } from './message-ids';

/**
 * Which of our messages does a bounce report on? A delivery report (RFC 3464) returns the
 * original, or its header block, as a message/rfc822 or text/rfc822-headers part; older and odder
 * bounces paste it into the text. The Message-ID found there is looked up among the ids we sent.
 * Pure; every part, and the body text, is read only to its first 64 KB (a raw message to 1 MB).
 *
 * Evidence comes in three tiers, and only the strongest tier that holds an id is returned:
 *   1. the Message-ID in the header block of a returned message part;
 *   2. `Message-ID:` lines (also `Original-Message-ID:`, `X-Original-Message-ID:`, quoted with
 *      `> ` or not) in the body text, and the ids in an `X-Tocsin-Loop:` line there;
 *   3. the In-Reply-To and References of the returned message (its header block, or lines in
 *      the body text), then the bounce's own In-Reply-To and References, which some servers
 *      (Google Groups, Exchange, Sun Messaging) set to the original.
 * Tier 3 names the original's ancestors, not the original, and so is weaker: a bounce of a
 * stranger's reply to our mail carries our id there too.
 */

export interface BounceInput {
  attachments: { contentType: string; content: Buffer }[];
  text: string;
  headers: { name: string; value: string }[];
  /**
   * The raw message, when at hand. mailparser shows an inline message/rfc822 part as a few lines
   * of text (From, Subject, Date, To) and drops its Message-ID; the raw part still has it.
   */
  raw?: Buffer;
}

/** Content types that carry the returned message, or its header block. */
export const ORIGINAL_PART_TYPES = new Set([
  'message/rfc822',
  'message/global',
  'message/partial',
  'message/rfc822-headers',
  'message/global-headers',
  'text/rfc822-headers',
  'text/rfc822-header', // a typo seen in the wild (sisimai arf-12)
]);

export const PART_SCAN_BYTES = 64 * 1024;
/** How much of a raw message is searched for returned message parts. */
export const RAW_SCAN_BYTES = 1024 * 1024;
const MAX_PARTS = 20;
const MAX_IDS = 20;

type Header = { name: string; value: string };

export function bounceOriginalMessageIds(parsed: BounceInput): string[] {
  const own = new Set(values(parsed.headers, 'message-id').flatMap((v) => messageIdsIn(v)));
  const blocks = [
    ...parsed.attachments
      .filter((a) => ORIGINAL_PART_TYPES.has(mediaType(a.contentType)))
      .map((a) => headerFields(a.content.subarray(0, PART_SCAN_BYTES).toString('latin1'))),
    ...(parsed.raw ? embeddedParts(parsed.raw).map(headerFields) : []),
  ].slice(0, MAX_PARTS);
  // When the MIME structure is broken (a boundary that does not match), mailparser has no text
  // to give; the lines of the raw body are then the body text.
  const texts = [parsed.text.slice(0, PART_SCAN_BYTES), ...(parsed.raw ? [rawBody(parsed.raw)] : [])];
  const bodyValues = (name: string) => texts.flatMap((t) => bodyFieldValues(t, name));

  const tiers = [
    () => blocks.flatMap((fields) => values(fields, 'message-id').flatMap((v) => messageIdsIn(v))),
    () => [
      ...bodyValues('(?:x-)?(?:original-)?message-id').flatMap((v) => firstId(v)),
      ...bodyValues('x-tocsin-loop').flatMap((v) => bracketedIds(v)),
    ],
    () => [
      ...blocks.flatMap((fields) => ancestors(values(fields, 'in-reply-to'), values(fields, 'references'))),
      ...ancestors(bodyValues('in-reply-to'), bodyValues('references'), bracketedIds),
      ...ancestors(values(parsed.headers, 'in-reply-to'), values(parsed.headers, 'references')),
    ],
  ];
  for (const tier of tiers) {
    const ids = [...new Set(tier())].filter((id) => !own.has(id));
    if (ids.length) return ids.slice(0, MAX_IDS);
  }
  return [];
}

/** The raw message after its header block, to RAW_SCAN_BYTES. */
function rawBody(raw: Buffer): string {
  const s = raw.subarray(0, RAW_SCAN_BYTES).toString('latin1');
  const end = /\r?\n\r?\n/.exec(s);
  return end ? s.slice(end.index + end[0].length) : '';
}

/** `text/rfc822-headers; charset=x` gives `text/rfc822-headers`. */
const mediaType = (contentType: string) => contentType.trim().toLowerCase().split(/[;\s]/)[0]!;

const values = (headers: Header[], name: string) =>
  headers.filter((h) => h.name.trim().toLowerCase() === name).map((h) => h.value);

/** In-Reply-To first, then References newest to oldest: nearest ancestor first. */
function ancestors(
  inReplyTo: string[],
  references: string[],
  ids: (value: string) => string[] = messageIdsIn,
): string[] {
  return [...inReplyTo.flatMap((v) => ids(v)), ...references.flatMap((v) => ids(v)).reverse()];
}

const bracketedIds = (value: string) => (/<[^<>]+>/.test(value) ? messageIdsIn(value) : []);

/** The first id in a Message-ID value written in prose: `<id>`, or a bare `local@domain`. */
function firstId(value: string): string[] {
  const m = /<([^<>\s]{1,996})>|(?:^|\s)([^\s<>()"]{1,498}@[^\s<>()"]{1,498})/.exec(value);
  const id = m?.[1] ?? m?.[2]?.replace(/[.,;]+$/, '');
  return id ? [`<${id}>`] : [];
}

/** The fields of the header block at the start of `content` (after any blank lines), unfolded. */
function headerFields(content: string): Header[] {
  const s = content.replace(/^(?:[ \t]*\r?\n)+/, '');
  const end = s.search(/\r?\n[ \t]*\r?\n/);
  const block = end === -1 ? s : s.slice(0, end);
  const fields: Header[] = [];
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const m = /^([!-9;-~]+)[ \t]*:(.*)$/.exec(line);
    if (m) fields.push({ name: m[1]!, value: m[2]!.trim() });
  }
  return fields;
}

/**
 * Values of a header field written as a line of the body text, maybe quoted (`> `) or indented,
 * with the value on the same line, or on the next when the field was folded. Following lines that
 * hold nothing but `<id>`s are taken as folded continuation (a long References field).
 */
function bodyFieldValues(text: string, namePattern: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`^[ \\t>]*${namePattern}[ \\t]*:[ \\t]*(.*)$`, 'i');
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length && out.length < MAX_IDS; i++) {
    const m = re.exec(lines[i]!);
    if (!m) continue;
    let value = m[1]!;
    if (!value.trim() && i + 1 < lines.length) value = lines[++i]!.replace(/^[ \t>]*/, '');
    while (i + 1 < lines.length && /^[ \t>]*(?:<[^<>\s]+>[ \t]*)+$/.test(lines[i + 1]!))
      value += ' ' + lines[++i]!.replace(/^[ \t>]*/, '');
    out.push(value);
  }
  return out;
}

const PART_TYPE = new RegExp(
  `^content-type:[ \\t]*(?:\\r?\\n[ \\t]+)?(${[...ORIGINAL_PART_TYPES].map((t) => t.replace('/', '\\/')).join('|')})(?![\\w-])`,
  'gim',
);

/**
 * The content of every returned message part in the raw message (decoded when a part is base64
 * or quoted-printable, as message/global may be), each cut to PART_SCAN_BYTES. A light scan, not
 * a MIME parser: a part's headers are the lines around its Content-Type, up to a blank line.
 */
function embeddedParts(raw: Buffer): string[] {
  const s = raw.subarray(0, RAW_SCAN_BYTES).toString('latin1');
  const parts: string[] = [];
  const blank = /\r?\n[ \t]*\r?\n/g;
  for (const m of s.matchAll(PART_TYPE)) {
    if (parts.length >= MAX_PARTS) break;
    blank.lastIndex = m.index;
    const end = blank.exec(s);
    if (!end) break;
    const partHeaders = `${linesBefore(s, m.index)}\n${s.slice(m.index, end.index)}`;
    const content = s.slice(end.index + end[0].length, end.index + end[0].length + PART_SCAN_BYTES);
    const encoding = /^content-transfer-encoding:[ \t]*([\w-]+)/im.exec(partHeaders)?.[1]?.toLowerCase();
    parts.push(decode(content, encoding));
  }
  return parts;
}

/** The header lines of the same part above `at`: back to a blank or boundary line, 30 at most. */
function linesBefore(s: string, at: number): string {
  const head = s.slice(Math.max(0, at - 4096), at).split(/\r?\n/);
  head.pop(); // the start of the Content-Type line itself
  const lines: string[] = [];
  for (let i = head.length - 1; i >= 0 && lines.length < 30; i--) {
    const line = head[i]!;
    if (!line.trim() || line.startsWith('--')) break;
    lines.unshift(line);
  }
  return lines.join('\n');
}

function decode(content: string, encoding: string | undefined): string {
  if (encoding === 'base64') {
    const end = content.search(/^--/m);
    const b64 = (end === -1 ? content : content.slice(0, end)).replace(/[^A-Za-z0-9+/=]/g, '');
    return Buffer.from(b64, 'base64').toString('latin1');
  }
  if (encoding === 'quoted-printable')
    return content
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return content;
}
