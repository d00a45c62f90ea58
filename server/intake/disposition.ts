import mongoose, { Schema } from 'mongoose';
import { reserveCaseKey } from '../cases/keys';
import { Case } from '../cases/models';
import type { MailIdentity } from '../conversation/identity';
import { ThreadRef } from '../conversation/models';
import { markerIsGenuine, threadClues } from '../conversation/threading';
import { sha256 } from '../lib/hash';
import { bounceOriginalMessageIds } from '../mail/bounce-original';
import type { Classification } from '../mail/classify';
import { LINKING_TYPES, indicatorId, type Indicator } from '../mail/indicators';
import { isOurMessageId } from '../mail/message-ids';
import type { ParsedMessage } from '../mail/parse';
import type { SenderVerdict } from '../mail/verdict';
import { alertGroupId, readAlert, type AlertSource } from './alerts';
import { claimGroupCase, latestGroupCase, type GroupCase } from './group-cases';
import { ackAllowed, openingAllowed, stormSeries } from './sender-limits';

/**
 * Where an inbound message goes: onto an existing case, into a new case, or (for machine mail
 * that matches nothing) into quarantine. The decision is made once per message and kept on its
 * inbound record, so a re-run after a crash carries out the same decision.
 *
 * A message joins a case by, in order of trust:
 *   1. In-Reply-To/References naming a Message-ID stored for the case (ours are unguessable);
 *   2. our reply marker quoted in the body, whose tag only our own mail carries;
 *   3. the case key in the subject, or quoted in the body. Anyone can type a key, so this joins
 *      only when the sender is verified (`pass`) or already takes part in the case and is not
 *      `fail`. Otherwise the message opens a new case linked as a possible follow-up.
 */

/**
 * An indicator of a reported phishing mail (a URL, an attachment hash, the inner Message-ID),
 * and the case that first reported it: the next report of the same phishing joins that case.
 */
const IndicatorOwner = mongoose.model(
  'IndicatorOwner',
  new Schema(
    { _id: String, caseKey: { type: String, required: true }, at: { type: Date, default: () => new Date() } },
    { versionKey: false },
  ),
  'indicator_owners',
);

export type ThreadBy =
  | 'new'
  | 'headers'
  | 'marker'
  | 'subject-key'
  | 'body-key'
  | 'bounce'
  | 'related-report'
  | 'breaker'
  | 'storm'
  | 'alert';

export interface Disposition {
  action: 'open' | 'append' | 'quarantine';
  caseKey?: string;
  by?: ThreadBy;
  /** The sender was shown to be part of this conversation (our headers, our marker, verified). */
  trusted?: boolean;
  ack?: boolean;
  /** A case whose key this message quoted without being trusted to join it. */
  followUpOf?: string;
  /** The outbox record a bounce reports on. */
  bounceOf?: string;
  slotId?: string;
  /** A note for the case's timeline; `once` names what it is recorded once for (else the sender). */
  notice?: { code: string; message: string; once?: string };
  reason?: string;
  /** The series of messages the case collects (group-cases.ts): an alert's, a storm's. */
  series?: string;
  /** The case opened collects a sender's overflow of one hour (a storm). */
  storm?: { sender: string; hour: string };
  /** The message is a monitoring system's alert (ALERT_SENDERS, the playbook's alertSources). */
  alert?: boolean;
  /** Mail from before the desk first read the mailbox (IMAP_HISTORY=archive): opened closed. */
  history?: boolean;
}

export interface DispositionInput {
  parsed: ParsedMessage;
  raw: Buffer;
  ingestKey: string;
  receivedAt: Date;
  classification: Classification;
  verdict: SenderVerdict;
  indicators: Indicator[];
  prefixes: string[];
  identity?: MailIdentity;
  /** Whether acknowledgements can be sent at all (SMTP_URL and MAIL_FROM are set). */
  canSend: boolean;
  /** The message was in the mailbox before the desk first read it, and is imported as history. */
  history?: boolean;
  /** What the report suggests (cases/suggest.ts): the type a new case's key is reserved with. */
  suggestion: { type: string; severity: string };
  /** The suggested severity is urgent (SEV1–2): such a report always opens its own case. */
  urgent: boolean;
  /** The sender is a monitoring system's (ALERT_SENDERS, alertSources). */
  alertSource?: AlertSource;
}

interface Match {
  caseKey: string;
  by: ThreadBy;
  outboxId?: string;
}

export async function decideDisposition(input: DispositionInput): Promise<Disposition> {
  const { parsed, classification } = input;
  const sender = parsed.from?.address ?? '';
  const ours = input.identity && parsed.messageId && isOurMessageId(parsed.messageId, input.identity.domain);
  const automated = classification.kind !== 'human' || Boolean(ours);

  // A monitoring system's mail, unless it is our own coming back or fails the sender checks (a
  // forged alert sender is judged as anyone else).
  if (input.alertSource && !ours && input.verdict.verdict !== 'fail' && !input.history) {
    const strong = await strongMatch(input);
    if (strong)
      return { action: 'append', caseKey: strong.caseKey, by: strong.by, trusted: true, ack: false };
    return alertDisposition(input, sender);
  }

  if (automated) {
    const bounce = classification.kind === 'bounce' ? await bounceMatch(parsed, input.raw) : undefined;
    const match = bounce ?? (await strongMatch(input)) ?? (await keyMatch(input));
    const onlyByKey = match?.by === 'subject-key' || match?.by === 'body-key';
    if (match && (!onlyByKey || (await trusts(input, match)))) {
      return {
        action: 'append',
        caseKey: match.caseKey,
        by: match.by,
        trusted: match.by === 'headers' || match.by === 'marker',
        bounceOf: match.outboxId,
        ack: false,
      };
    }
    const what = ours
      ? 'our own mail coming back'
      : `${classification.kind} (${classification.reasons.join('; ')})`;
    return { action: 'quarantine', reason: `machine-written message, ${what}, matched no case` };
  }

  const strong = await strongMatch(input);
  if (strong) return { action: 'append', caseKey: strong.caseKey, by: strong.by, trusted: true, ack: false };

  let followUpOf: string | undefined;
  const key = await keyMatch(input);
  if (key) {
    if (await trusts(input, key))
      return { action: 'append', caseKey: key.caseKey, by: key.by, trusted: true, ack: false };
    followUpOf = key.caseKey;
  }

  const related = await relatedReport(input.indicators);
  if (related) {
    return {
      action: 'append',
      caseKey: related,
      by: 'related-report',
      trusted: false,
      ack: await maybeAck(input, sender),
    };
  }

  // History is answered by nobody and counted against no sender: it is what the mailbox held.
  if (input.history) return { action: 'open', by: 'new', followUpOf, ack: false, history: true };

  const opening = await openingAllowed(sender || 'unknown', input.receivedAt, input.ingestKey);
  if (!opening.allowed && !input.urgent) return stormDisposition(input, sender, opening.slotId);
  return {
    action: 'open',
    by: 'new',
    followUpOf,
    slotId: opening.slotId,
    ack: await maybeAck(input, sender),
  };
}

/**
 * A sender's sixth new case within an hour (a loop, a storm) goes into their storm case of this
 * UTC hour, opened by the first such message: never into an unrelated case. A report that
 * suggests an urgent severity never comes here; it opens its own case.
 */
async function stormDisposition(
  input: DispositionInput,
  sender: string,
  slotId: string,
): Promise<Disposition> {
  const { series, hour } = stormSeries(sender || 'unknown', input.receivedAt);
  const claim = await claimGroupCase(series, 1, ownClaim(input));
  if (claim.source !== input.ingestKey)
    return { action: 'append', caseKey: await caseOf(claim), by: 'storm', series, slotId, ack: false };
  const who = sender || 'This sender';
  return {
    action: 'open',
    by: 'storm',
    series,
    storm: { sender: sender || 'unknown', hour },
    slotId,
    ack: false,
    notice: {
      code: 'storm',
      message: `${who} sent more than 5 new reports within 60 minutes. Until ${hour.slice(11, 13)}:59 UTC their further mail is collected in this case instead of opening a case for each; a report that suggests SEV1 or SEV2 still opens its own case. Split a message out to make it a case of its own.`,
    },
  };
}

/**
 * An alert joins the latest case it opened while that case is open; a recovery (UP, RESOLVED)
 * goes on that case's timeline with a notice suggesting Monitoring; a new firing opens a case
 * with no acknowledgement, under the same storm rule as a person's reports.
 */
async function alertDisposition(input: DispositionInput, sender: string): Promise<Disposition> {
  const reading = readAlert(input.parsed.subject, input.parsed.headers, input.alertSource!);
  const series = alertGroupId(sender, reading.group);
  const latest = await latestGroupCase(series);
  const own = latest?.opened.source === input.ingestKey;
  const latestKey = latest && !own ? await caseOf(latest.opened) : undefined;
  const recovered = reading.recovery && {
    code: 'alert-recovered',
    once: input.ingestKey,
    message: `The monitoring alert reports recovery ("${input.parsed.subject.slice(0, 200)}"). Once the service is confirmed back, move the case to Monitoring.`,
  };
  // A recovery on a case already closed is kept on its timeline, with nothing to suggest.
  const join = (caseKey: string, open = true): Disposition => ({
    action: 'append',
    caseKey,
    by: 'alert',
    series,
    alert: true,
    ack: false,
    ...(recovered && open ? { notice: recovered } : {}),
  });
  if (latestKey) {
    const open = await isOpen(latestKey);
    if (open || reading.recovery) return join(latestKey, open);
  }
  if (reading.recovery && !own)
    return {
      action: 'quarantine',
      reason: `a recovery notice from the alert sender ${sender}, for an alert that opened no case`,
    };
  const opening = await openingAllowed(sender, input.receivedAt, input.ingestKey);
  if (!opening.allowed && !input.urgent)
    return { ...(await stormDisposition(input, sender, opening.slotId)), alert: true };
  const claim = own ? latest!.opened : await claimGroupCase(series, (latest?.n ?? 0) + 1, ownClaim(input));
  if (claim.source !== input.ingestKey) return join(await caseOf(claim));
  return { action: 'open', by: 'alert', series, alert: true, slotId: opening.slotId, ack: false };
}

const ownClaim = (input: DispositionInput): GroupCase => ({
  source: input.ingestKey,
  type: input.suggestion.type,
  at: input.receivedAt,
});

/** The key of the case a claim's message opens: the same one that message's run reserves. */
const caseOf = (claim: GroupCase) => reserveCaseKey(claim.type, claim.at, claim.source);

/** Not closed, or not written yet (the message that opens it is still being read). */
async function isOpen(caseKey: string): Promise<boolean> {
  const found = await Case.findById(caseKey).select({ status: 1 }).lean<{ status: string }>();
  return !found || found.status !== 'Closed';
}

/**
 * Mail that reached the mailbox longer ago than this gets no acknowledgement: connecting Tocsin to
 * a mailbox with years of history must not write to everyone who ever wrote to it.
 */
export const ACK_MAX_AGE_MS = 3 * 24 * 60 * 60_000;

async function maybeAck(input: DispositionInput, sender: string): Promise<boolean> {
  if (input.history || Date.now() - input.receivedAt.getTime() > ACK_MAX_AGE_MS) return false;
  // Never to ourselves: mail "from" the desk's own address is a loop in the making.
  if (!input.canSend || !sender || sender === input.identity?.from.address.toLowerCase()) return false;
  // A no-reply address says nobody reads what is sent to it: an acknowledgement would only bounce.
  if (NO_REPLY.test(sender)) return false;
  return ackAllowed(sender, input.receivedAt, input.ingestKey);
}

/** `noreply@`, `no-reply+x@`, `do-not-reply@`, `donotreply@`, `bounce-…@` and the like. */
const NO_REPLY = /^(no-?reply|do-?not-?reply|bounces?)([-+._][^@]*)?@/i;

/** Our headers or our marker: only someone who received our mail (or the sender's) has them. */
async function strongMatch(input: DispositionInput): Promise<Match | undefined> {
  const clues = clueSet(input);
  const refs = clues.referenceIds.slice(0, 20);
  const found = await Promise.all(refs.map((id) => ThreadRef.findById(sha256(id)).lean()));
  const ref = found.find((r) => r);
  if (ref) return { caseKey: ref.caseKey, by: 'headers' };
  if (input.identity) {
    for (const marker of clues.bodyMarkers) {
      if (markerIsGenuine(marker, input.identity.secret) && (await Case.exists({ _id: marker.key })))
        return { caseKey: marker.key, by: 'marker' };
    }
  }
  return undefined;
}

/** A case key typed in the subject or quoted in the body: anyone could have written it. */
async function keyMatch(input: DispositionInput): Promise<Match | undefined> {
  const clues = clueSet(input);
  for (const [keys, by] of [
    [clues.subjectKeys, 'subject-key'],
    [clues.bodyKeys, 'body-key'],
  ] as const) {
    for (const key of keys.slice(0, 5)) if (await Case.exists({ _id: key })) return { caseKey: key, by };
  }
  return undefined;
}

async function trusts(input: DispositionInput, match: Match): Promise<boolean> {
  const verdict = input.verdict.verdict;
  if (verdict === 'pass') return true;
  if (verdict === 'fail') return false;
  const sender = input.parsed.from?.address;
  if (!sender) return false;
  // An _id-only filter, then the check here: FerretDB narrows only exact { _id } queries.
  const found = await Case.findById(match.caseKey)
    .select({ participants: 1 })
    .lean<{ participants?: string[] }>();
  return Boolean(found?.participants?.includes(sender));
}

async function bounceMatch(parsed: ParsedMessage, raw: Buffer): Promise<Match | undefined> {
  for (const id of bounceOriginalMessageIds({ ...parsed, raw }).slice(0, 5)) {
    const ref = await ThreadRef.findById(sha256(id)).lean();
    if (ref?.direction === 'out')
      return { caseKey: ref.caseKey, by: 'bounce', outboxId: ref.outboxId ?? undefined };
  }
  return undefined;
}

async function relatedReport(indicators: Indicator[]): Promise<string | undefined> {
  const linking = indicators
    .filter((i) => (LINKING_TYPES as readonly string[]).includes(i.type))
    .slice(0, 50);
  const owners = await Promise.all(linking.map((i) => IndicatorOwner.findById(indicatorId(i)).lean()));
  return owners.find((o) => o)?.caseKey;
}

const clueCache = new WeakMap<DispositionInput, ReturnType<typeof threadClues>>();
function clueSet(input: DispositionInput) {
  let clues = clueCache.get(input);
  if (!clues) {
    clues = threadClues(
      {
        subject: input.parsed.subject,
        inReplyTo: input.parsed.inReplyTo,
        references: input.parsed.references,
        text: input.parsed.text,
      },
      input.prefixes,
    );
    clueCache.set(input, clues);
  }
  return clues;
}

/** Claims each linking indicator for the case that first reported it. */
export async function claimIndicators(indicators: Indicator[], caseKey: string): Promise<void> {
  const linking = indicators
    .filter((i) => (LINKING_TYPES as readonly string[]).includes(i.type))
    .slice(0, 50);
  await Promise.all(
    linking.map((i) =>
      IndicatorOwner.create({ _id: indicatorId(i), caseKey }).catch((err: unknown) => {
        if ((err as { code?: number }).code !== 11000) throw err;
      }),
    ),
  );
}
