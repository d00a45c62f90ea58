import { compileHint } from '../cases/hints';
import type { PresenceSignal, RequiredField, TypeDef } from '../cases/playbook';
import { defang } from '../mail/defang';

/**
 * The acknowledgement a reporter gets for a new case, and the required information it asks for.
 * Pure: no mail, no database. Hints are admin-provided and report text is anyone's, so matching
 * is bounded: at most 100 KB of text, and every hint compiled into a regular expression that
 * cannot backtrack without limit (or matched as plain text when it cannot be).
 */

export interface AckReport {
  subject: string;
  text: string;
  attachmentCount: number;
}

export interface AckInput {
  caseKey: string;
  typeName: string;
  reporterName: string;
  /** The report's subject, already without Re:/Fwd: prefixes. */
  subject: string;
  missing: RequiredField[];
  urgent: boolean;
  /** The line that identifies our mail when it is quoted back; always the last line. */
  replyMarker: string;
  deskName?: string;
  /** The response time promised for the severity, when the caller wants it stated. */
  responseMinutes?: number;
}

export interface Acknowledgement {
  subject: string;
  text: string;
  html: string;
}

const SCANNED_TEXT = 100_000;
const SCANNED_SUBJECT = 1_000;
const SUBJECT_LENGTH = 120;
const LINE_WIDTH = 72;
/** Words of the reporter's own that make a description (the subject counts). */
const DESCRIPTION_WORDS = 8;

// ---------------------------------------------------------------------------------------------
// Which required information is missing

/** The required fields the report does not seem to give yet, in playbook order. */
export function missingFromReport(type: TypeDef, report: AckReport): RequiredField[] {
  const fields = compiledFields(type);
  const asked = fields.filter((f) => !f.field.fromEmail);
  if (asked.length === 0) return [];

  const text = report.text.slice(0, SCANNED_TEXT).replace(/\r\n?/g, '\n');
  const subject = report.subject.slice(0, SCANNED_SUBJECT);
  const forwardedSubject = FORWARD_SUBJECT.test(subject);
  const { own, forwardBlock } = ownWords(text);
  // A forwarded subject is the original's subject, not the reporter's words.
  const haystack = normalise(`${forwardedSubject ? '' : subject}\n${own}`);

  const signals: Record<PresenceSignal, () => boolean> = {
    attachment: () => report.attachmentCount > 0,
    link: () => LINK.test(text),
    forwarded: () => forwardBlock || forwardedSubject,
    description: () => countWords(haystack, DESCRIPTION_WORDS) >= DESCRIPTION_WORDS,
  };
  return asked
    .filter(
      ({ field, hints }) =>
        !(field.presentWhen ?? []).some((s) => signals[s]()) && !hints.some((re) => re.test(haystack)),
    )
    .map((f) => f.field);
}

interface CompiledField {
  field: RequiredField;
  hints: RegExp[];
}

/** Compiled once per loaded playbook: a type object is the cache key. */
const compiled = new WeakMap<TypeDef, CompiledField[]>();

function compiledFields(type: TypeDef): CompiledField[] {
  let fields = compiled.get(type);
  if (!fields) {
    fields = type.requiredFields.map((field) => ({
      field,
      hints: (field.hints ?? []).map((h) => compileHint(h).re),
    }));
    compiled.set(type, fields);
  }
  return fields;
}

const FORWARD_SUBJECT = /^\s*(?:fwd?|tr|wg|rv|enc|doorst)\s*(?:\[\d+\])?\s*:/i;
const LINK = /(?:\bhttps?:\/\/|\bwww\.)[^\s<>"]/i;
const FORWARD_MARKER =
  /^(?:-{2,}\s*(?:forwarded message|original message|message transf[ée]r[ée]|weitergeleitete nachricht|urspr[üu]ngliche nachricht|mensaje (?:reenviado|original)|messaggio (?:inoltrato|originale)|doorgestuurd bericht|oorspronkelijk bericht)\s*-{2,}|begin forwarded message:?)$/i;
const REPLY_HEADER = /^(?:on\s.{1,200}\swrote|le\s.{1,200}\sa écrit|am\s.{1,200}\sschrieb)\s?:$/i;
const HEADER_FROM = /^\*?from:\*?\s/i;
const HEADER_SUBJECT = /^\*?subject:\*?\s/i;
const HEADER_DATE = /^\*?(?:sent|date|to):\*?\s/i;

/**
 * The reporter's own words: the text before any forwarded or quoted message, without quoted
 * lines. A forwarded phishing mail says "click here" and "enter your password"; those words are
 * the evidence, not the reporter's answers.
 */
function ownWords(text: string): { own: string; forwardBlock: boolean } {
  const lines = text.split('\n');
  const own: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (FORWARD_MARKER.test(line) || headerBlockAt(lines, i))
      return { own: own.join('\n'), forwardBlock: true };
    if (REPLY_HEADER.test(line)) break;
    if (!line.startsWith('>')) own.push(line);
  }
  return { own: own.join('\n'), forwardBlock: false };
}

/** An inline forward without a marker line: From:, then Subject: and Sent:/Date:/To: soon after. */
function headerBlockAt(lines: string[], i: number): boolean {
  if (!HEADER_FROM.test(lines[i]!.trim())) return false;
  const next = lines.slice(i + 1, i + 6).map((l) => l.trim());
  return next.some((l) => HEADER_SUBJECT.test(l)) && next.some((l) => HEADER_DATE.test(l));
}

/** One space between words and plain apostrophes, so hints match across line breaks and clients. */
const normalise = (s: string) => s.replace(/[\u2018\u2019\u02bc]/g, "'").replace(/\s+/g, ' ');

function countWords(s: string, enough: number): number {
  const word = /[\p{L}\p{N}]+/gu;
  let n = 0;
  while (n < enough && word.exec(s)) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------
// The acknowledgement

type Block = { kind: 'p'; text: string } | { kind: 'ol'; items: string[] } | { kind: 'marker'; text: string };

/** The acknowledgement mail: the same blocks as wrapped plain text and as escaped HTML. */
export function acknowledgement(input: AckInput): Acknowledgement {
  const key = oneLine(input.caseKey);
  const subject = truncate(defang(oneLine(input.subject.slice(0, SCANNED_SUBJECT))), SUBJECT_LENGTH);
  const name = displayName(input.reporterName);
  const desk = oneLine(input.deskName ?? '') || 'The incident desk';
  const typeName = oneLine(input.typeName);
  const within =
    input.responseMinutes && input.responseMinutes > 0 ? duration(input.responseMinutes) : undefined;

  const blocks: Block[] = [
    { kind: 'p', text: name ? `Hello ${name},` : 'Hello,' },
    {
      kind: 'p',
      text:
        `Thank you for reporting this. We have opened case ${key} (${typeName})` +
        `${subject ? ` for your message "${subject}"` : ''}. ` +
        `If you reply to this email, your reply is added to the case; please keep [${key}] in the subject.`,
    },
    {
      kind: 'p',
      text: input.urgent
        ? `Someone on call has been alerted and will get back to you soon${within ? ` (we aim to respond within ${within})` : ''}. ` +
          'If things change in the meantime, reply with what you see.'
        : within
          ? `The committee will look at it and aims to get back to you within ${within}.`
          : 'The committee will look at it and get back to you within our usual response time.',
    },
    {
      kind: 'p',
      text:
        'You are not in trouble for reporting. An early report that turns out to be minor ' +
        'is always better than a late one.',
    },
    {
      kind: 'p',
      text:
        'Please do not delete anything that shows what happened: the emails, files or messages ' +
        'involved. Keep them, and forward them to us if we do not have them yet.',
    },
  ];
  if (input.missing.length > 0) {
    blocks.push(
      { kind: 'p', text: 'To help us, could you reply with:' },
      { kind: 'ol', items: input.missing.map((f) => oneLine(f.question ?? f.label)) },
    );
  }
  blocks.push(
    { kind: 'p', text: 'We will never ask you for a password or a code.' },
    { kind: 'p', text: desk },
    { kind: 'marker', text: oneLine(input.replyMarker) },
  );

  return {
    subject: truncate(`[${key}] We received your report${subject ? `: ${subject}` : ''}`, SUBJECT_LENGTH),
    text: renderText(blocks),
    html: renderHtml(blocks, key),
  };
}

function renderText(blocks: Block[]): string {
  const parts = blocks.map((b) => {
    if (b.kind === 'marker') return b.text;
    if (b.kind === 'p') return wrap(b.text, LINE_WIDTH, '', '');
    return b.items
      .map((item, i) => wrap(item, LINE_WIDTH, `${i + 1}. `, ' '.repeat(`${i + 1}. `.length)))
      .join('\n');
  });
  return `${parts.join('\n\n')}\n`;
}

function renderHtml(blocks: Block[], key: string): string {
  const body = blocks
    .map((b) => {
      if (b.kind === 'p') return `<p>${escapeHtml(b.text)}</p>`;
      if (b.kind === 'marker') return `<p style="color:#666;font-size:small">${escapeHtml(b.text)}</p>`;
      return `<ol>\n${b.items.map((item) => `<li>${escapeHtml(item)}</li>`).join('\n')}\n</ol>`;
    })
    .join('\n');
  return (
    '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n' +
    `<title>${escapeHtml(key)}</title>\n</head>\n` +
    `<body style="font-family:sans-serif;line-height:1.5;max-width:40em">\n${body}\n</body>\n</html>\n`
  );
}

/** Greedy word wrap; a word longer than the line stays whole on its own line. */
function wrap(text: string, width: number, first: string, rest: string): string {
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const word of text.split(' ').filter(Boolean)) {
    if (!empty && line.length + 1 + word.length > width) {
      lines.push(line);
      line = rest;
      empty = true;
    }
    line += empty ? word : ` ${word}`;
    empty = false;
  }
  lines.push(line);
  return lines.join('\n');
}

/** The reporter's name when it reads as a name: not an address, a link or a domain. */
function displayName(raw: string): string {
  const name = truncate(oneLine(raw).replace(/^["']+|["']+$/g, ''), 60);
  return /@|:\/\/|\bwww\.|[\p{L}\p{N}-]\.[a-z]{2,}\b/iu.test(name) ? '' : name;
}

/** One line of text: control characters and line breaks become spaces (no header injection). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]+/g;
const oneLine = (s: string) => s.replace(CONTROL, ' ').replace(/\s+/g, ' ').trim();

function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  const cut = s.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).toWellFormed()}…`;
}

function duration(minutes: number): string {
  if (minutes < 60) return `${Math.ceil(minutes)} minutes`;
  if (minutes < 1440) {
    const hours = Math.ceil(minutes / 60);
    return hours === 1 ? 'an hour' : `${hours} hours`;
  }
  const days = Math.ceil(minutes / 1440);
  return days === 1 ? 'a day' : `${days} days`;
}

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
