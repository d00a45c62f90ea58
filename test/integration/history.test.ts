import type { ImapConfig } from '../../server/config';
import type { HistoryMode } from '../../server/intake/store';
import { caughtUp } from '../support/caught-up';
import { startDesk, type Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose, imapClient } from '../support/mail';
import { startSmtpRelay, type SmtpRelay } from '../support/smtp';
import { waitFor } from '../support/wait';

/**
 * The mailbox's history: a real Dovecot mailbox that already holds mail when the desk first
 * connects, read as IMAP_HISTORY says, through the poller, the intake and the API.
 */

interface Listed {
  key: string;
  subject: string;
  status: string;
  history: boolean;
  clocks?: unknown[];
}

let relay: SmtpRelay;
let desk: Desk;
beforeAll(async () => {
  relay = await startSmtpRelay();
  desk = await startDesk({
    smtpUrl: relay.url,
    mailFrom: 'security@desk.example.net',
    outbox: { pollMs: 200 },
  });
});
afterAll(async () => {
  await desk.stop();
  await relay.close();
});

const mailbox = (mode: HistoryMode, since?: Date) => newMailbox('hist', { history: { mode, since } });

const reports = (tag: string, n: number, from = 0) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      compose({ to: 'security@desk.example.net', subject: `Report ${from + i} ${tag}`, text: 'details' }),
    ),
  );

async function casesOf(tag: string): Promise<Listed[]> {
  const { body } = await desk.api<{ cases: Listed[] }>(`/api/cases?q=${encodeURIComponent(tag)}&limit=200`);
  return body.cases;
}

/** What the desk has sent to reporters, for messages of this test. */
const acksFor = (tag: string) =>
  relay.messages.filter((m) => m.envelope.from === 'security@desk.example.net' && m.raw.includes(tag));

/** Appends one more report after the first sync, and waits for its acknowledgement: a fence. */
async function laterReport(box: ImapConfig, tag: string): Promise<Listed> {
  const before = acksFor(tag).length;
  await appendMessages(box, [await compose({ to: box.user, subject: `Later ${tag}`, text: 'new' })]);
  await caughtUp(box);
  await waitFor('the later report to be acknowledged', async () => acksFor(tag).length > before, 20_000);
  const [later] = await casesOf(`Later ${tag}`);
  if (!later) throw new Error('the later report made no case');
  return later;
}

async function messagesIn(box: ImapConfig): Promise<number> {
  const client = await imapClient(box);
  try {
    const status = await client.status(box.mailbox, { messages: true });
    return status ? (status.messages ?? 0) : 0;
  } finally {
    await client.logout();
  }
}

/** A mailbox holding `n` reports before the desk first connects to it, read to the end. */
async function firstConnection(mode: HistoryMode, n: number): Promise<{ box: ImapConfig; tag: string }> {
  const box = await mailbox(mode);
  const tag = uniqueName(mode);
  await appendMessages(box, await reports(tag, n));
  desk.startPoller(box);
  await caughtUp(box);
  return { box, tag };
}

describe('when the desk first connects to a mailbox that already holds mail', () => {
  it('then with IMAP_HISTORY=archive each message is a closed case, out of the inbox, with no acknowledgement or clock', async () => {
    const { box, tag } = await firstConnection('archive', 4);

    const imported = await casesOf(tag);
    expect(imported).toHaveLength(4);
    for (const c of imported) {
      expect(c).toMatchObject({ status: 'Closed', history: true });
      expect(c.clocks).toEqual([]);
    }
    const { body: one } = await desk.api<{
      closure: { record: { reason?: string } | null; missing: string[] };
    }>(`/api/cases/${imported[0]!.key}`);
    expect(one.closure.record?.reason).toMatch(/mailbox's history/);
    // Not in the inbox (New and Triage), and found by the register's search.
    for (const status of ['New', 'Triage']) {
      const { body } = await desk.api<{ cases: Listed[] }>(`/api/cases?status=${status}&q=${tag}`);
      expect(body.cases).toEqual([]);
    }

    // New mail after the first connection is a report as ever: a draft, acknowledged, with clocks.
    const later = await laterReport(box, tag);
    expect(later).toMatchObject({ status: 'New', history: false });
    expect(later.clocks?.length).toBeGreaterThan(0);
    expect(acksFor(tag).map((m) => m.envelope.to)).toHaveLength(1);
  });

  it('then with IMAP_HISTORY=open each message is a draft case in the inbox, acknowledged, as before', async () => {
    const { tag } = await firstConnection('open', 3);
    await waitFor('three acknowledgements', async () => acksFor(tag).length === 3, 20_000);
    const opened = await casesOf(tag);
    expect(opened.map((c) => [c.status, c.history])).toEqual(Array(3).fill(['New', false]));
  });

  it('then with IMAP_HISTORY=skip nothing there becomes a case, and only later mail does', async () => {
    const { box, tag } = await firstConnection('skip', 3);
    const later = await laterReport(box, tag);
    expect(later.status).toBe('New');
    expect(await casesOf(tag)).toHaveLength(1);
    expect(await messagesIn(box)).toBe(4);
  });

  it('then with IMAP_HISTORY_SINCE mail received before that day stays in the mailbox, unread', async () => {
    const box = await mailbox('archive', new Date('2024-01-01T00:00:00Z'));
    const tag = uniqueName('since');
    await appendMessages(box, await reports(tag, 2), box.mailbox, new Date('2023-06-01T12:00:00Z'));
    await appendMessages(box, await reports(tag, 2, 2), box.mailbox, new Date('2024-03-01T12:00:00Z'));
    desk.startPoller(box);
    await caughtUp(box);
    const imported = await casesOf(tag);
    expect(imported.map((c) => c.subject).sort()).toEqual([`Report 2 ${tag}`, `Report 3 ${tag}`]);
    expect(imported.every((c) => c.status === 'Closed' && c.history)).toBe(true);
    expect(await messagesIn(box)).toBe(4);
  });
});

describe('when the first import is cut short, or the mailbox is read again', () => {
  it("then a restart goes on with the first connection's choice, even after IMAP_HISTORY changed", async () => {
    const box = await mailbox('archive');
    const tag = uniqueName('cut');
    const n = 60;
    await appendMessages(box, await reports(tag, n));
    const first = desk.startPoller(box, { batchMessages: 5, concurrency: 1 });
    const atStop = await waitFor('a first few cases', async () => {
      const count = (await casesOf(tag)).length;
      return count >= 5 ? count : null;
    });
    await first.stop();
    expect(atStop).toBeLessThan(n);

    // The admin changes the setting and restarts: the mailbox's first connection was made already.
    desk.startPoller({ ...box, history: { mode: 'open' } });
    await caughtUp(box);
    const all = await casesOf(tag);
    expect(all).toHaveLength(n);
    expect(all.filter((c) => c.status !== 'Closed' || !c.history)).toEqual([]);
    await laterReport(box, tag);
    expect(acksFor(tag)).toHaveLength(1);
  });

  it('then a renumbered folder (new UIDVALIDITY) does not make its old mail new again', async () => {
    const box = { ...(await mailbox('skip')), mailbox: 'Reports' };
    const tag = uniqueName('renum');
    const old = await reports(tag, 3);
    const yesterday = new Date(Date.now() - 24 * 3600_000);
    const admin = await imapClient(box);
    try {
      await admin.mailboxCreate('Reports');
      await appendMessages(box, old, 'Reports', yesterday);
      const first = desk.startPoller(box);
      await caughtUp(box);
      await first.stop();
      expect(await casesOf(tag)).toEqual([]);

      // The server renumbers the folder: the same mail, with its arrival times, and one new message.
      await admin.mailboxDelete('Reports');
      await admin.mailboxCreate('Reports');
      await appendMessages(box, old, 'Reports', yesterday);
      await appendMessages(
        box,
        [await compose({ to: box.user, subject: `Fresh ${tag}`, text: 'new' })],
        'Reports',
      );
      desk.startPoller(box);
      await caughtUp(box);
      expect((await casesOf(tag)).map((c) => c.subject)).toEqual([`Fresh ${tag}`]);
    } finally {
      await admin.logout();
    }
  });
});
