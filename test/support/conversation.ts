import nodemailer from 'nodemailer';
import type { ImapConfig } from '../../server/config';
import { parseMessage, type ParsedMessage } from '../../server/mail/parse';
import type { Desk } from './desk';
import { startDesk, type DeskOptions } from './desk';
import { newMailbox } from './env';
import { startSmtpRelay, waitForMailbox, type MailboxMessage, type SmtpRelay } from './smtp';
import { waitFor } from './wait';

/**
 * A desk that holds conversations for real: its shared mailbox on the test Dovecot, its outbox
 * sending through a test SMTP relay that delivers into Dovecot, and reporters with mailboxes of
 * their own. Mail between them makes real round trips.
 */
export interface ConversationRig {
  desk: Desk;
  relay: SmtpRelay;
  deskBox: ImapConfig;
  /** Sends a message to the desk's address through the relay, as the reporter's provider would. */
  send(raw: Buffer, from: string): Promise<void>;
  /** Mail the desk itself sent (acknowledgements, replies), as the relay accepted it. */
  sentByDesk(): { to: string[]; raw: Buffer }[];
  stop(): Promise<void>;
}

export async function startConversationRig(opts: DeskOptions = {}): Promise<ConversationRig> {
  const relay = await startSmtpRelay();
  const deskBox = await newMailbox('desk');
  const desk = await startDesk({
    mailbox: deskBox,
    smtpUrl: relay.url,
    mailFrom: deskBox.user,
    outbox: { pollMs: 1_000 },
    ...opts,
  });
  const transport = nodemailer.createTransport(relay.url);
  return {
    desk,
    relay,
    deskBox,
    async send(raw, from) {
      await transport.sendMail({ envelope: { from, to: [deskBox.user] }, raw });
    },
    sentByDesk: () =>
      relay.messages
        .filter((m) => m.envelope.from === deskBox.user)
        .map((m) => ({ to: m.envelope.to, raw: m.raw })),
    async stop() {
      transport.close();
      await desk.stop();
      await relay.close();
    },
  };
}

export interface CaseView {
  key: string;
  type: string;
  severity: string;
  status: string;
  version: number;
  subject: string;
  reporter: { name: string; address: string };
  storm: { sender: string; hour: string; messages: number } | null;
  alert: boolean;
  participants: string[];
  links: { key: string; relation: string }[];
  indicators: { type: string; value: string; display: string; reports: number }[];
  relatedReports: { entryId: string; from: { address: string } }[];
  timeline: TimelineView[];
}

export interface TimelineView {
  id: string;
  kind: string;
  notice?: { code: string; message: string };
  email?: {
    direction: 'in' | 'out';
    messageId?: string;
    from?: { name: string; address: string };
    to: { address: string }[];
    subject: string;
    text: string;
    /** The HTML as a sandboxed document of its own, when the email has HTML. */
    htmlUrl?: string;
    html?: string;
    inReplyTo?: string;
    references?: string[];
    verdict?: { verdict: string; reasons: string[] };
    classification?: { kind: string; reasons: string[] };
    thread?: { by: string; trusted: boolean; note?: string };
    delivery?: { state: string; attempts: number; lastError?: string };
    bounceOf?: string;
    attachments: { filename: string; sha256: string; url: string }[];
  };
}

/** The cases whose subject contains `tag`, through the API. */
export async function casesTagged(desk: Desk, tag: string): Promise<CaseView[]> {
  const list = await desk.api<{ cases: { key: string }[] }>(
    `/api/cases?q=${encodeURIComponent(tag)}&limit=200`,
  );
  return Promise.all(
    list.body.cases.map(async (c) => (await desk.api<CaseView>(`/api/cases/${c.key}`)).body),
  );
}

/** Waits until a case's timeline satisfies `ready`, and returns the case. */
export function waitForCase(
  desk: Desk,
  key: string,
  ready: (c: CaseView) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<CaseView> {
  return waitFor(
    what,
    async () => {
      const res = await desk.api<CaseView>(`/api/cases/${key}`);
      return res.status === 200 && ready(res.body) ? res.body : null;
    },
    timeoutMs,
  );
}

/** Waits until a message that was sent shows on the case, and returns the case and its entry. */
export async function entryFor(desk: Desk, key: string, raw: Buffer) {
  const messageId = (await parseMessage(raw)).messageId;
  const c = await waitForCase(
    desk,
    key,
    (v) => inbound(v).some((e) => e.email!.messageId === messageId),
    `${messageId} on ${key}`,
  );
  return { c, entry: inbound(c).find((e) => e.email!.messageId === messageId)!.email! };
}

export const inbound = (c: CaseView) => c.timeline.filter((e) => e.email?.direction === 'in');
export const outbound = (c: CaseView) => c.timeline.filter((e) => e.email?.direction === 'out');

/** Waits for `n` messages in a reporter's mailbox, parsed. */
export async function mailFor(
  box: ImapConfig,
  n: number,
  timeoutMs = 30_000,
): Promise<(ParsedMessage & { message: MailboxMessage })[]> {
  const messages = await waitForMailbox(box, (m) => m.length >= n, timeoutMs);
  return Promise.all(messages.map(async (m) => ({ ...(await parseMessage(m.raw)), message: m })));
}
