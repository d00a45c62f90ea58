import { randomBytes, randomInt } from 'node:crypto';
import { messageIdsIn } from './message-ids';
import { stripSubjectPrefixes } from './subject';

/**
 * Header values for the mail we send. Case data (subjects, names) comes from strangers' mail, so
 * every value built from it goes through headerSafe: a line break in a header value would let a
 * stranger add headers (a Bcc) to our mail. Also the References of a reply, and Outlook's
 * Thread-Index, which is how Outlook groups a conversation. Pure, but for the clock and
 * the random parts of new ids.
 */

/** Line breaks of any kind: unfolding a header turns them into the space they stand for. */
const BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]/g;
/** Every other control character: C0, DEL, C1. */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * One line of text fit for a header value: line breaks and tabs become spaces, other control
 * characters go, whitespace runs collapse, ends are trimmed, and the result is cut to `max`
 * characters (never in the middle of a surrogate pair).
 */
export function headerSafe(value: string, max = 998): string {
  const s = value.toWellFormed().replace(BREAKS, ' ').replace(CONTROLS, '').replace(/\s+/g, ' ').trim();
  if (s.length <= max) return s;
  let cut = s.slice(0, Math.max(0, max));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return cut.trimEnd();
}

/** The Thread-Topic header: the subject without reply prefixes, as Outlook's normalized subject. */
export const threadTopic = (subject: string): string => headerSafe(stripSubjectPrefixes(headerSafe(subject)));

/** The real chain kept in References; the case's pseudo-reference comes on top. */
export const MAX_REFERENCES = 10;
const KEEP_FIRST = 4;
const KEEP_LAST = 6;

/**
 * The References of a reply, from the parent's References plus the parent's Message-ID, in that
 * order. Long chains are cut to 10 as RFC 5322 §3.6.4 allows: the first 4 ids (the thread's
 * start) and the last 6 (the nearest parents) are kept, the middle goes. The case's
 * pseudo-reference, when given, is added in front (so 11 at most), so that every mail of a case
 * shares one root in clients that thread by References. Ids are deduplicated and written `<id>`.
 */
export function trimReferences(references: string[], caseRef?: string): string[] {
  const lead = caseRef ? messageIdsIn(caseRef)[0] : undefined;
  const ids = [...new Set(references.flatMap((r) => messageIdsIn(r)))].filter((id) => id !== lead);
  const kept = ids.length > MAX_REFERENCES ? [...ids.slice(0, KEEP_FIRST), ...ids.slice(-KEEP_LAST)] : ids;
  return lead ? [lead, ...kept] : kept;
}

/*
 * Thread-Index ([MS-OXOMSG] 2.2.1.3 PidTagConversationIndex), base64. Outlook groups a
 * conversation by its first 22 bytes, the header block: a reserved byte 0x01, the high 40 bits of
 * the FILETIME (100 ns since 1601) when the conversation began, and a 16-byte GUID. Each reply adds
 * a 5-byte child block: 1 bit DeltaCode, 31 bits of the time since the header's time, 4 bits
 * random and 4 bits sequence. With DeltaCode 0 the 31 bits are bits 18..48 of the difference (it is
 * below 2^49 × 100 ns, about 1.78 years); otherwise DeltaCode is 1 and they are bits 23..53.
 *
 * Outlook 2003 and 2007 wrote the header as the high 48 bits of the FILETIME instead, with no
 * reserved byte; that value starts with 0x01 as well (the top byte of every FILETIME from 1829
 * to 2057), so the two forms differ in the second byte: 0x01 in the spec's (the FILETIME's top
 * byte again), 0xC0 or more in the old one. Exchange Online writes the spec's form (as in the
 * sisimai lhost-office365 bounces), and so do we; both are read.
 */

const HEADER_BYTES = 22;
const CHILD_BYTES = 5;
/** 100-ns intervals from 1601-01-01 to 1970-01-01. */
const FILETIME_EPOCH = 116_444_736_000_000_000n;
const MAX_THREAD_INDEX_CHARS = 2048;

const fileTime = (d: Date): bigint => BigInt(d.getTime()) * 10_000n + FILETIME_EPOCH;
const fromFileTime = (ft: bigint): Date => new Date(Number((ft - FILETIME_EPOCH) / 10_000n));

/** The FILETIME in a header block, in either form, to its resolution (1.68 s, or 6.6 ms in the old form). */
function headerFileTime(bytes: Buffer): bigint {
  return bytes[1] === 0x01 ? BigInt(bytes.readUIntBE(1, 5)) << 24n : BigInt(bytes.readUIntBE(0, 6)) << 16n;
}

/** A new Thread-Index for a conversation we start. */
export function newThreadIndex(now: Date, guid: Buffer = randomBytes(16)): string {
  if (guid.length !== 16) throw new Error('a Thread-Index GUID is 16 bytes');
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = 0x01;
  header.writeUIntBE(Number(fileTime(now) >> 24n), 1, 5);
  guid.copy(header, 6);
  return header.toString('base64');
}

function decodeThreadIndex(value: string): Buffer | undefined {
  const s = value.replace(/\s+/g, '');
  if (!s || s.length > MAX_THREAD_INDEX_CHARS || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) return undefined;
  const bytes = Buffer.from(s, 'base64');
  if (bytes.length < HEADER_BYTES || (bytes.length - HEADER_BYTES) % CHILD_BYTES !== 0) return undefined;
  return bytes;
}

export interface ThreadIndexChild {
  deltaCode: 0 | 1;
  /** Time since the header's time, in ms, at the block's resolution (26 ms, or 839 ms with code 1). */
  deltaMs: number;
  random: number;
  sequence: number;
}

export interface ThreadIndex {
  /** When the conversation began, to the header's resolution. */
  time: Date;
  /** The conversation's GUID, 32 hex digits. */
  guid: string;
  children: ThreadIndexChild[];
}

/** A Thread-Index taken apart, or undefined if it is not one. */
export function parseThreadIndex(value: string): ThreadIndex | undefined {
  const bytes = decodeThreadIndex(value);
  if (!bytes) return undefined;
  const children: ThreadIndexChild[] = [];
  for (let at = HEADER_BYTES; at < bytes.length; at += CHILD_BYTES) {
    const word = bytes.readUInt32BE(at);
    const deltaCode = word >>> 31 === 1 ? 1 : 0;
    const delta = BigInt(word & 0x7fffffff) << (deltaCode ? 23n : 18n);
    children.push({
      deltaCode,
      deltaMs: Number(delta / 10_000n),
      random: bytes[at + 4]! >> 4,
      sequence: bytes[at + 4]! & 0x0f,
    });
  }
  return {
    time: fromFileTime(headerFileTime(bytes)),
    guid: bytes.subarray(6, HEADER_BYTES).toString('hex'),
    children,
  };
}

/**
 * The Thread-Index of a reply to a message that carried `existing`: the same bytes and one child
 * block more. The sequence nibble counts the blocks before it (mod 16). Undefined when `existing`
 * is not a Thread-Index (bad base64, shorter than 22 bytes, or not 22 + 5n bytes long).
 */
export function extendThreadIndex(existing: string, now: Date): string | undefined {
  const bytes = decodeThreadIndex(existing);
  if (!bytes) return undefined;
  let delta = fileTime(now) - headerFileTime(bytes);
  if (delta < 0n) delta = 0n; // a clock behind the sender's: "no time passed"
  const deltaCode = delta < 1n << 49n ? 0 : 1;
  let bits = delta >> (deltaCode ? 23n : 18n);
  if (bits > 0x7fffffffn) bits = 0x7fffffffn;
  const child = Buffer.alloc(CHILD_BYTES);
  child.writeUInt32BE(((deltaCode << 31) | Number(bits)) >>> 0, 0);
  child[4] = (randomInt(16) << 4) | (((bytes.length - HEADER_BYTES) / CHILD_BYTES) % 16);
  return Buffer.concat([bytes, child]).toString('base64');
}
