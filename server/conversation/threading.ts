import { createHmac, timingSafeEqual } from 'node:crypto';
import { messageIdsIn } from '../mail/message-ids';
import { stripSubjectPrefixes } from '../mail/subject';

/**
 * Which case does an inbound email belong to? This module gathers the clues, it does not decide:
 * the case keys in the subject, the Message-IDs the mail answers, our signed reply marker quoted
 * in the body, and bare case keys in the body. Intake weighs them (a genuine marker or a
 * Message-ID we sent beats a key anyone could type). It also writes the subject and the marker
 * of the mail we send, so that what we write and what we read back stay in step. Pure.
 *
 * Case keys are `PREFIX-YYYY-NNN` (cases/keys.ts formatCaseKey, not imported here: that module
 * loads the database models). Mail clients and people mangle them, so reading is lenient.
 */

export interface BodyMarker {
  /** The case key, in canonical form. */
  key: string;
  /** The tag as found, lower case; check it with markerIsGenuine before trusting the key. */
  tag: string;
}

export interface ThreadClues {
  /** Case keys in the subject, canonical, in order of appearance, deduplicated, at most 10. */
  subjectKeys: string[];
  /** In-Reply-To first, then References newest to oldest, as `<id>`, deduplicated, at most 50. */
  referenceIds: string[];
  /** Our reply markers found anywhere in the body, quoted or re-wrapped; at most 10. */
  bodyMarkers: BodyMarker[];
  /** Bare case keys in the body, canonical, deduplicated, at most 10. */
  bodyKeys: string[];
}

export interface ThreadInput {
  subject: string;
  inReplyTo?: string;
  references: string[];
  text: string;
}

export const MAX_REFERENCE_IDS = 50;
export const MAX_BODY_KEYS = 10;
export const MAX_BODY_MARKERS = 10;
/** Hex digits of the HMAC kept in the marker's tag: 40 bits, plenty against guessing by mail. */
export const MARKER_TAG_LENGTH = 10;

/** Dashes people and word processors type between the parts of a key. */
const DASH = '[-_\u2010-\u2015\u2212]';
/** Between the parts of a key: a dash, maybe spaced, or plain spaces (`INC 2026 007`). */
const LENIENT_SEP = `(?:\\s*${DASH}\\s*|\\s+)`;
const YEAR = '(20\\d\\d)';
/** Up to 6 digits; a longer run of digits is some other number, not a key. */
const NUMBER = '(\\d{1,6})';
const NOT_AFTER_WORD = '(?<![\\p{L}\\p{N}_])';

/** `PREFIX-YYYY-NNN`, the number without leading zeros, padded to 3 (the form formatCaseKey writes). */
function canonicalKey(prefix: string, year: string, number: string): string | undefined {
  const n = Number.parseInt(number, 10);
  if (!Number.isSafeInteger(n) || n < 1) return undefined;
  return `${prefix.toUpperCase()}-${year}-${String(n).padStart(3, '0')}`;
}

/** The canonical form of a case key written in any of the lenient forms, or undefined. */
export function normalizeCaseKey(value: string): string | undefined {
  const m = new RegExp(`^\\s*([A-Za-z]{2,6})${LENIENT_SEP}${YEAR}${LENIENT_SEP}${NUMBER}\\s*$`, 'u').exec(
    value,
  );
  return m ? canonicalKey(m[1]!, m[2]!, m[3]!) : undefined;
}

/** Type keys as the playbook writes them: 2–6 capital letters. Anything else is ignored. */
function validPrefixes(prefixes: string[]): string[] {
  const valid = prefixes.map((p) => p.trim().toUpperCase()).filter((p) => /^[A-Z]{2,6}$/.test(p));
  return [...new Set(valid)].sort((a, b) => b.length - a.length);
}

interface KeyPatterns {
  /** Subjects: any dash or spaces between the parts, any case. */
  lenient: RegExp;
  /** Bodies, where prose could look like a key: dashes only. */
  strict: RegExp;
  /** Our marker, after quote markers are stripped and whitespace collapsed. */
  marker: RegExp;
}

const patternCache = new Map<string, KeyPatterns | undefined>();

function keyPatterns(prefixes: string[]): KeyPatterns | undefined {
  const valid = validPrefixes(prefixes);
  const cacheKey = valid.join(',');
  if (patternCache.has(cacheKey)) return patternCache.get(cacheKey);
  const alternatives = `(${valid.join('|')})`;
  const key = (sep: string) => `${NOT_AFTER_WORD}${alternatives}(${sep})${YEAR}(${sep})${NUMBER}`;
  const patterns = valid.length
    ? {
        lenient: new RegExp(`${key(LENIENT_SEP)}(?![\\p{L}\\p{N}])`, 'giu'),
        strict: new RegExp(`${key(`\\s*${DASH}\\s*`)}(?![\\p{L}\\p{N}])`, 'giu'),
        // Between key and tag: our " · ", or what a client made of it ("Â·", "?", "*", nothing).
        marker: new RegExp(
          `${key(LENIENT_SEP)}(?!\\p{N}) ?[^\\s\\p{N}]{0,8} ?tocsin ?- ?([0-9a-f]{${MARKER_TAG_LENGTH}})(?![0-9a-f])`,
          'giu',
        ),
      }
    : undefined;
  if (patternCache.size > 100) patternCache.clear();
  patternCache.set(cacheKey, patterns);
  return patterns;
}

/**
 * Keys matched by `re` in `text`, canonical, deduplicated, at most `max`. A key in lower case
 * counts only when written with dashes: "inc 2026 7" is more likely prose than a key.
 */
function findKeys(text: string, re: RegExp, max: number): string[] {
  const keys = new Set<string>();
  for (const m of text.matchAll(re)) {
    const [, prefix = '', sep1 = '', year = '', sep2 = '', number = ''] = m;
    if (prefix !== prefix.toUpperCase() && !(/\S/.test(sep1) && /\S/.test(sep2))) continue;
    const key = canonicalKey(prefix, year, number);
    if (key) keys.add(key);
    if (keys.size >= max) break;
  }
  return [...keys];
}

/**
 * The body as a mail client might have mangled it, undone: quote markers at line starts
 * ("> ", "> > ", ">>") removed and every run of whitespace, line breaks included, made one space.
 */
function unquote(text: string): string {
  return text.replace(/^[ \t]*(?:>[ \t]?)+/gm, '').replace(/\s+/g, ' ');
}

export function threadClues(msg: ThreadInput, prefixes: string[]): ThreadClues {
  const patterns = keyPatterns(prefixes);
  const body = unquote(msg.text);

  const referenceIds = new Set<string>();
  const candidates = [
    ...messageIdsIn(msg.inReplyTo),
    ...msg.references.flatMap((r) => messageIdsIn(r)).reverse(),
  ];
  for (const id of candidates) {
    if (referenceIds.size >= MAX_REFERENCE_IDS) break;
    referenceIds.add(id);
  }

  const bodyMarkers: BodyMarker[] = [];
  if (patterns)
    for (const m of body.matchAll(patterns.marker)) {
      const [, prefix = '', , year = '', , number = '', tag = ''] = m;
      const key = canonicalKey(prefix, year, number);
      const found = key && { key, tag: tag.toLowerCase() };
      if (found && !bodyMarkers.some((b) => b.key === found.key && b.tag === found.tag))
        bodyMarkers.push(found);
      if (bodyMarkers.length >= MAX_BODY_MARKERS) break;
    }

  return {
    subjectKeys: patterns ? findKeys(msg.subject, patterns.lenient, MAX_BODY_KEYS) : [],
    referenceIds: [...referenceIds],
    bodyMarkers,
    bodyKeys: patterns ? findKeys(body, patterns.strict, MAX_BODY_KEYS) : [],
  };
}

function markerTag(key: string, secret: string): string {
  if (!secret) throw new Error('the reply-marker secret is empty');
  return createHmac('sha256', secret).update(key).digest('hex').slice(0, MARKER_TAG_LENGTH);
}

/**
 * The line we put at the bottom of every mail we send: `Ref: INC-2026-007 · tocsin-3f9a1c2b7d`.
 * The tag is a truncated HMAC of the key, so a reply that quotes the line proves it answers
 * our mail about that case, while a key typed into a subject proves nothing.
 */
export function replyMarker(caseKey: string, secret: string): string {
  const key = normalizeCaseKey(caseKey);
  if (!key) throw new Error(`not a case key: ${JSON.stringify(caseKey)}`);
  return `Ref: ${key} · tocsin-${markerTag(key, secret)}`;
}

/** True when the marker's tag is the one replyMarker writes for its key (a constant-time compare). */
export function markerIsGenuine(marker: BodyMarker, secret: string): boolean {
  const key = normalizeCaseKey(marker.key);
  if (!key) return false;
  const expected = Buffer.from(markerTag(key, secret));
  const given = Buffer.from(marker.tag.toLowerCase());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A key token with whatever brackets a client left around it: `[INC-2026-007]`, `( INC 2026 7 )`. */
const bracketed = (key: string) => `[[({<]?\\s*${key}\\s*[\\])}>]?`;

/**
 * The subject of our reply: `Re: [INC-2026-007] <the subject, without prefixes or key tokens>`.
 * Tokens of this case's key are removed in any form; other cases' keys only in strict form
 * (`SUP-2026-003`), so that "May 2026 15" stays. Pass the result through headerSafe, as every
 * header value.
 */
export function replySubject(caseKey: string, subject: string): string {
  const key = normalizeCaseKey(caseKey);
  if (!key) throw new Error(`not a case key: ${JSON.stringify(caseKey)}`);
  const [prefix, year, number] = key.split('-');
  const own = new RegExp(
    bracketed(`${NOT_AFTER_WORD}${prefix}${LENIENT_SEP}${year}${LENIENT_SEP}0*${Number(number)}(?!\\p{N})`),
    'giu',
  );
  const anyKey = new RegExp(bracketed(`${NOT_AFTER_WORD}[A-Z]{2,6}-20\\d\\d-\\d{1,6}(?!\\p{N})`), 'gu');
  let s = subject.replace(/\s+/g, ' ');
  for (let i = 0; i < 20; i++) {
    const next = stripSubjectPrefixes(s.replace(own, ' ').replace(anyKey, ' '))
      .replace(/^[\s\-–—:|·]+|[\s\-–—:|·]+$/gu, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (next === s) break;
    s = next;
  }
  return `Re: [${key}] ${s || 'your report'}`;
}
