import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { splitRaw } from './raw';
import { sha256 } from '../lib/hash';
import { mimeShape, shapeProblem, type MimeLimits } from './mime-shape';
import { cleanText } from '../lib/text';

/** Mail is hostile input: every dimension a message could use to exhaust us has a cap. */
export interface ParseLimits extends MimeLimits {
  timeoutMs: number;
  maxHtmlLength: number;
  maxTextLength: number;
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxDepth: 50,
  maxParts: 500,
  timeoutMs: 30_000,
  maxHtmlLength: 2 * 1024 * 1024,
  maxTextLength: 1024 * 1024,
};

export interface Address {
  name: string;
  address: string;
}

export interface Header {
  name: string;
  value: string;
}

export interface ParsedAttachment {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  content: Buffer;
}

export interface ParsedMessage {
  messageId?: string;
  inReplyTo?: string;
  references: string[];
  from?: Address;
  to: Address[];
  cc: Address[];
  replyTo: Address[];
  date?: Date;
  subject: string;
  /** Plain text: the text part, or the HTML part turned into text. */
  text: string;
  html?: string;
  headers: Header[];
  attachments: ParsedAttachment[];
  /** Content types of every MIME part, attachments or not (a forwarded message/rfc822 among them). */
  partTypes: string[];
  /** Set when the body was not parsed because the message is past a limit; the reason. */
  limited?: string;
}

export class ParseTimeoutError extends Error {
  constructor(ms: number) {
    super(`parsing took longer than ${ms} ms`);
    this.name = 'ParseTimeoutError';
  }
}

export async function parseMessage(
  raw: Buffer,
  limits: ParseLimits = DEFAULT_PARSE_LIMITS,
): Promise<ParsedMessage> {
  const shape = mimeShape(raw, limits);
  const problem = shapeProblem(shape, limits);
  const source = problem ? headerBlock(raw) : raw;
  const mail = await withTimeout(
    simpleParser(source, {
      checksumAlgo: 'sha256',
      maxHtmlLengthToParse: limits.maxHtmlLength,
      skipTextToHtml: true,
      skipImageLinks: true,
      skipTextLinks: true,
      // A forwarded message stays one attachment, byte for byte, rather than being opened into
      // this one's text and attachments: phishing reports are read from it (indicators.ts).
      ignoreEmbedded: true,
    } as Parameters<typeof simpleParser>[1]),
    limits.timeoutMs,
  );
  const parsed = { ...fromMailparser(mail, limits), partTypes: shape.types };
  if (problem) {
    parsed.limited = problem;
    parsed.text = `[Tocsin did not parse this message's body: ${problem}. The raw message is kept as evidence.]`;
  }
  return parsed;
}

function fromMailparser(mail: ParsedMail, limits: ParseLimits): Omit<ParsedMessage, 'partTypes'> {
  const html = typeof mail.html === 'string' ? mail.html : undefined;
  return {
    messageId: clean(mail.messageId),
    inReplyTo: clean(mail.inReplyTo),
    references: (Array.isArray(mail.references) ? mail.references : mail.references ? [mail.references] : [])
      .map((r) => cleanText(r))
      .filter(Boolean),
    from: addresses(mail.from)[0],
    to: addresses(mail.to),
    cc: addresses(mail.cc),
    replyTo: addresses(mail.replyTo),
    date: mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : undefined,
    subject: cleanText(mail.subject, 998),
    text: cleanText(mail.text, limits.maxTextLength),
    html: html ? cleanText(html, limits.maxHtmlLength) : undefined,
    headers: mail.headerLines.map(({ line }) => {
      const colon = line.indexOf(':');
      return {
        name: cleanText(colon === -1 ? line : line.slice(0, colon)).trim(),
        value: cleanText(colon === -1 ? '' : line.slice(colon + 1).replace(/\r?\n[ \t]+/g, ' ')).trim(),
      };
    }),
    attachments: mail.attachments.map((a) => ({
      filename: cleanText(a.filename, 255) || 'unnamed',
      contentType: cleanText(a.contentType, 255),
      size: a.content.length,
      sha256: a.checksum || sha256(a.content),
      content: a.content,
    })),
  };
}

function clean(v: string | undefined): string | undefined {
  const s = cleanText(v).trim();
  return s || undefined;
}

function addresses(field: AddressObject | AddressObject[] | undefined): Address[] {
  const objects = Array.isArray(field) ? field : field ? [field] : [];
  const out: Address[] = [];
  const walk = (list: { name: string; address?: string; group?: { name: string; address?: string }[] }[]) => {
    for (const a of list) {
      if (a.group) walk(a.group);
      else if (a.address)
        out.push({ name: cleanText(a.name, 200), address: cleanText(a.address, 320).toLowerCase() });
    }
  };
  for (const o of objects) walk(o.value);
  return out;
}

/** The header block alone, for messages whose body we will not parse. */
const headerBlock = (raw: Buffer) => Buffer.concat([splitRaw(raw).head, Buffer.from('\r\n\r\n')]);

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ParseTimeoutError(ms)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
