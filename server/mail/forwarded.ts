/**
 * The messages a report forwards. People report phishing by forwarding it to the desk, as an
 * attached message (message/rfc822, an .eml file) or inline under a client's "Forwarded message"
 * line; forwardedMessages() finds both. indicators.ts lists what identifies them.
 */
import { refang } from './defang';
import { DEFAULT_PARSE_LIMITS, parseMessage, type ParseLimits, type ParsedMessage } from './parse';

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

/** Attached messages parsed per report, and the largest parsed. */
export const MAX_FORWARDED = 5;
export const MAX_FORWARDED_BYTES = 10 * 1024 * 1024;

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
