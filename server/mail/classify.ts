/**
 * Tells mail written by a person from mail written by a machine (bounces, auto-replies, abuse
 * reports, list traffic, our own echoes). Intake records the verdict on every inbound email entry,
 * and decides where a message goes on it (no case, no acknowledgement for a robot). Pure: it reads
 * only what parseMessage() already produced. Rules follow RFC 3834 (auto-replies),
 * RFC 3464/6522 (delivery reports), RFC 5965 (ARF), RFC 2369/2919 (lists) and common practice.
 */

export type Kind = 'human' | 'auto-reply' | 'bounce' | 'report' | 'list' | 'loop';

/** The structural subset of ParsedMessage the classifier needs. */
export interface ClassifyInput {
  headers: { name: string; value: string }[];
  from?: { name: string; address: string };
  subject: string;
  partTypes: string[];
  /** The body as text; only read for a forwarded delivery report. */
  text?: string;
}

export interface Classification {
  kind: Kind;
  reasons: string[];
}

/** Set on every message Tocsin sends; seeing it come back in means a mail loop. */
export const LOOP_HEADER = 'X-Tocsin-Loop';

/** When several rules hit, the most specific kind wins (later in this list beats earlier). */
const RANK: Kind[] = ['human', 'list', 'auto-reply', 'report', 'bounce', 'loop'];

/** Headers whose mere presence marks a machine; the value does not matter. */
const PRESENCE: [header: string, kind: Kind][] = [
  [LOOP_HEADER, 'loop'],
  ['X-Autoreply', 'auto-reply'],
  ['X-Autorespond', 'auto-reply'],
  ['X-Autoresponder', 'auto-reply'],
  // Exchange puts it on its own OOF replies and notices so that they are not answered in turn.
  ['X-Auto-Response-Suppress', 'auto-reply'],
  // RFC 2369/2919 list fields, and the markers of list servers that predate them (ezmlm, fml).
  ['List-Id', 'list'],
  ['List-Unsubscribe', 'list'],
  ['List-Subscribe', 'list'],
  ['List-Post', 'list'],
  ['Mailing-List', 'list'],
  ['X-MLServer', 'list'],
];

/** Precedence values (not standard, but universal); auto_reply is what vacation(1) sets. */
const PRECEDENCE: Record<string, Kind> = {
  list: 'list',
  bulk: 'auto-reply',
  junk: 'auto-reply',
  auto_reply: 'auto-reply',
};

/**
 * Local parts of robot senders; the address decides, never the display name. A no-reply sender is
 * weak: it is surely a machine, but as often a bounce (KDDI) or a notice (SNS) as an auto-reply.
 */
const SENDERS: [RegExp, Kind, strength: 'strong' | 'weak'][] = [
  [/^(mailer[-_]?daemon|mail-daemon|post[-_]?master)$/i, 'bounce', 'strong'],
  [/^(no-?reply|do-?not-?reply)$/i, 'auto-reply', 'weak'],
];

/** Report types (the report-type parameter, or the part that carries the report). */
const REPORTS: [RegExp, Kind][] = [
  [/^(message\/)?(global-)?delivery-status$/i, 'bounce'], // RFC 3464, RFC 6533
  [/^(message\/)?feedback-report$/i, 'report'], // ARF, RFC 5965
  [/^(message\/)?(global-)?disposition-notification$/i, 'auto-reply'], // read receipts, RFC 8098
];

/**
 * Subjects robots write, as the whole subject or a prefix before ":" or "(". Anchored at the start, so
 * a person's "Re: out of office hours" or "Undeliverable parcels at the depot" does not match.
 */
const AUTO_REPLY_SUBJECTS = [
  'out of (?:the )?office',
  'automatic reply',
  'auto(?:matic)?[- ]?(?:reply|response)',
  'auto(?=\\s*:)', // Outlook's short prefix; a bare "Auto" could be about a car
  'abwesenheitsnotiz',
  'automatische antwort',
  'r[ée]ponse automatique',
  'respuesta autom[aá]tica',
  'resposta autom[aá]tica',
  'risposta automatica',
  'automatisch antwoord',
  'autosvar',
];
const BOUNCE_SUBJECTS = [
  'undeliverable(?: mail| message)?',
  'undelivered mail(?: returned to sender)?',
  'delivery status notification',
  '(?:mail |message )?delivery (?:failure|failed|notification)',
  'returned mail',
  'failure notice',
  'mail system error - returned mail',
  'non remis', // French Exchange
  'unzustellbar', // German Exchange
  'onbestelbaar', // Dutch Exchange
  'non recapitabile', // Italian Exchange
  'no se puede entregar', // Spanish Exchange
];
const phrases = (list: string[]) => new RegExp(`^(?:${list.join('|')})\\s*(?:[:(]|$)`, 'i');
const SUBJECTS: [RegExp, Kind][] = [
  [phrases(AUTO_REPLY_SUBJECTS), 'auto-reply'],
  [phrases(BOUNCE_SUBJECTS), 'bounce'],
  // Microsoft's junk mail reporting program (JMRP) sends complaints that are not ARF.
  [/^complaint about message from [\d.:a-f]+$/i, 'report'],
];

/** A delivery report's own lines, quoted or not, in a forwarded message's body. */
const FORWARDED_REPORT =
  /^[>\s]*(?:From:.*\bMAILER-DAEMON\b|Final-Recipient:\s*rfc822;|Reporting-MTA:\s*dns;|-+ The following addresses had permanent fatal errors)/im;

export function classifyMessage(input: ClassifyInput): Classification {
  const strong: [Kind, string][] = [];
  const weak: [Kind, string][] = [];
  const values = (name: string) =>
    input.headers
      .filter((h) => h.name.trim().toLowerCase() === name.toLowerCase())
      .map((h) => h.value.trim());

  for (const [header, kind] of PRESENCE)
    for (const v of values(header)) strong.push([kind, v ? `${header}: ${v}` : `${header} present`]);

  // RFC 3834: any value but "no" means a machine sent it (auto-replied, auto-generated, auto-notified).
  for (const v of values('Auto-Submitted'))
    if (v && token(v) !== 'no') strong.push(['auto-reply', `Auto-Submitted: ${v}`]);

  for (const v of values('Precedence')) {
    const kind = PRECEDENCE[token(v)];
    if (kind) strong.push([kind, `Precedence: ${v}`]);
  }

  // A null reverse-path is what RFC 5321 requires of bounces, but RFC 3834 asks it of auto-replies
  // too: it says "machine" for sure and "bounce" only when nothing more telling is there.
  if (values('Return-Path').some((v) => /^<\s*>$/.test(v))) weak.push(['bounce', 'Return-Path: <>']);

  // "From: MAILER-DAEMON <>" parses to no address at all, so fall back to the raw field.
  const sender = input.from?.address || (values('From')[0] ?? '').replace(/<\s*>/, '').trim();
  const local = sender.split('@')[0] ?? '';
  for (const [re, kind, strength] of SENDERS)
    if (re.test(local)) (strength === 'weak' ? weak : strong).push([kind, `sender ${sender}`]);

  // The top-level Content-Type names the report type; nested reports show only as part types.
  const type = values('Content-Type')[0] ?? '';
  const reportType = /^multipart\/report\b/i.test(type)
    ? /report-type\s*=\s*"?([\w-]+)/i.exec(type)?.[1]
    : '';
  for (const [re, kind] of REPORTS) {
    if (reportType && re.test(reportType))
      strong.push([kind, `multipart/report; report-type=${reportType.toLowerCase()}`]);
    for (const part of input.partTypes) if (re.test(part)) strong.push([kind, `${part} part`]);
  }

  const subject = input.subject.trim();
  for (const [re, kind] of SUBJECTS) if (re.test(subject)) strong.push([kind, `subject "${subject}"`]);

  // A delivery report forwarded on: what mailbox rules that forward bounces send, round and
  // round. It takes a forward of a bounce subject and the report itself in the body.
  const forwarded = /^(?:fwd?|fw|wg|tr|rv|doorst)\s*:\s*(.*)$/i.exec(subject)?.[1];
  if (
    forwarded &&
    phrases(BOUNCE_SUBJECTS).test(forwarded) &&
    FORWARDED_REPORT.test(input.text?.slice(0, 65_536) ?? '')
  )
    strong.push(['bounce', 'a forwarded delivery report']);

  const deciding = strong.length ? strong : weak;
  const kind = deciding.reduce<Kind>(
    (best, [k]) => (RANK.indexOf(k) > RANK.indexOf(best) ? k : best),
    'human',
  );
  return { kind, reasons: [...new Set([...strong, ...weak].map(([, reason]) => reason))] };
}

/** Anything not written by a person: never open a case for it without a look, never answer it. */
export const isAutomated = (c: Classification): boolean => c.kind !== 'human';

/** The first word of a header value, lower case ("auto-replied; owner=x" gives "auto-replied"). */
function token(v: string): string {
  return v.split(/[;\s]/)[0]!.toLowerCase();
}
