import fs from 'node:fs';
import path from 'node:path';
import { Case, TimelineEntry } from '../../server/cases/models';
import { ingestKey } from '../../server/mail/ingest-key';
import { parseMessage } from '../../server/mail/parse';
import { sha256 } from '../../server/mail/raw';
import { Inbound, Quarantine } from '../../server/mail/store';
import { caughtUp } from '../support/caught-up';
import { startDesk, type Desk } from '../support/desk';
import { newMailbox } from '../support/env';
import { appendMessages, imapClient } from '../support/mail';

const CORPUS = path.resolve(__dirname, '..', '..', '..', 'shared', 'corpus', 'sisimai', 'maildir');
const files = ['bsd', 'not'].flatMap((dir) =>
  fs
    .readdirSync(path.join(CORPUS, dir))
    .sort()
    .map((f) => path.join(CORPUS, dir, f)),
);

let desk: Desk;
beforeAll(async () => {
  desk = await startDesk();
});
afterAll(() => desk.stop());

describe('when every message of the sisimai corpus arrives in the mailbox', () => {
  it('then each one is accounted for by a case and timeline entry, or a quarantine record, without a crash', async () => {
    expect(files.length).toBe(632);
    const box = await newMailbox('corpus');
    await appendMessages(
      box,
      files.map((f) => fs.readFileSync(f)),
    );
    const poller = desk.startPoller(box);
    await caughtUp(box, 300_000);
    expect(poller.status().state).not.toBe('backoff');

    const client = await imapClient(box);
    const unaccounted: string[] = [];
    let viaCase = 0;
    try {
      await client.mailboxOpen('INBOX');
      for await (const m of client.fetch('1:*', { uid: true, source: true })) {
        const raw = m.source!;
        if (await Quarantine.exists({ _id: { $in: [`raw:${sha256(raw)}`, `imap:INBOX:${m.uid}`] } }))
          continue;
        const key = ingestKey((await parseMessage(raw)).messageId, raw);
        const inbound = await Inbound.findById(key).lean();
        const entry = await TimelineEntry.findById(`email:${key}`).lean();
        const accounted =
          inbound?.state === 'done' &&
          entry?.caseKey === inbound.caseKey &&
          (await Case.findById(inbound.caseKey).lean())?.key === inbound.caseKey;
        if (accounted) viaCase++;
        else unaccounted.push(`uid ${m.uid}`);
      }
    } finally {
      await client.logout();
    }
    expect(unaccounted).toEqual([]);
    expect(viaCase).toBeGreaterThan(600);
  }, 900_000);
});
