import fs from 'node:fs';
import path from 'node:path';
import { Case, TimelineEntry } from '../../server/cases/models';
import { ingestKey } from '../../server/mail/ingest-key';
import { parseMessage } from '../../server/mail/parse';
import { sha256 } from '../../server/lib/hash';
import { Inbound, Quarantine, type InboundRecord } from '../../server/intake/store';
import { caughtUp } from '../support/caught-up';
import { startConversationRig, type ConversationRig } from '../support/conversation';
import { appendMessages, imapClient } from '../support/mail';

const CORPUS = path.resolve(__dirname, '..', 'fixtures', 'sisimai', 'maildir');
const files = ['bsd', 'not'].flatMap((dir) =>
  fs
    .readdirSync(path.join(CORPUS, dir))
    .sort()
    .map((f) => path.join(CORPUS, dir, f)),
);

let rig: ConversationRig;
beforeAll(async () => {
  rig = await startConversationRig();
});
afterAll(() => rig.stop());

describe('when every message of the sisimai corpus arrives in the mailbox of a desk that can send mail', () => {
  it('then each one is on a case or in quarantine, no robot gets mail, and the two people get one acknowledgement each', async () => {
    expect(files.length).toBe(632);
    const box = rig.deskBox;
    await appendMessages(
      box,
      files.map((f) => fs.readFileSync(f)),
    );
    await caughtUp(box, 300_000);
    expect(rig.desk.poller!.status().state).not.toBe('backoff');

    const byHash = new Map(files.map((f) => [sha256(fs.readFileSync(f)), f]));
    const client = await imapClient(box);
    const unaccounted: string[] = [];
    const onCase = new Map<string, string>();
    try {
      await client.mailboxOpen('INBOX');
      for await (const m of client.fetch('1:*', { uid: true, source: true })) {
        const raw = m.source!;
        const file = byHash.get(sha256(raw));
        if (await Quarantine.exists({ _id: { $in: [`raw:${sha256(raw)}`, `imap:INBOX:${m.uid}`] } }))
          continue;
        const key = ingestKey((await parseMessage(raw)).messageId, raw);
        const inbound = await Inbound.findById(key).lean<InboundRecord>();
        // The same message twice (the corpus has byte-identical twins once Dovecot has turned
        // their NULs into 0x80): the first copy's record stands for both.
        if (inbound?.state === 'done' && inbound.route?.action === 'quarantine') {
          if (await Quarantine.exists({ _id: `raw:${inbound.rawSha256}` })) continue;
        }
        const entry = await TimelineEntry.findById(`email:${key}`).lean();
        const accounted =
          inbound?.state === 'done' &&
          !!inbound.caseKey &&
          entry?.caseKey === inbound.caseKey &&
          (await Case.findById(inbound.caseKey).lean())?.key === inbound.caseKey;
        if (accounted) {
          // The name, and how it got there (printed when it should not have).
          const name = file ? path.relative(CORPUS, file) : `uid ${m.uid}`;
          onCase.set(name, `${inbound.caseKey} ${JSON.stringify(inbound.route)}`);
        } else unaccounted.push(`uid ${m.uid}`);
      }
    } finally {
      await client.logout();
    }
    expect(unaccounted).toEqual([]);
    // Only the two people open cases; every bounce, DSN, auto-reply and report is held back.
    const shown = [...onCase].map(([name, how]) =>
      name.startsWith('not/is-not') ? name : `${name} → ${how}`,
    );
    expect(shown.sort()).toEqual(['not/is-not-bounce-01.eml', 'not/is-not-bounce-02.eml']);

    // Give the outbox time to send anything it (wrongly) queued.
    await new Promise((r) => setTimeout(r, 3_000));
    const sent = rig.sentByDesk();
    expect(sent.map((m) => m.to).sort()).toEqual([['dummy@example.com'], ['shironeko@example.com']]);
    for (const m of sent)
      expect((await parseMessage(m.raw)).subject).toMatch(
        /^\[[A-Z]{2,6}-\d{4}-\d{3}\] We received your report/,
      );
  }, 900_000);
});
