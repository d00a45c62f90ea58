import mongoose from 'mongoose';
import { Case, TimelineEntry } from '../../server/cases/models';
import { connectDatabase } from '../../server/db/connection';
import { MailCursor } from '../../server/intake/store';
import { caughtUp } from '../support/caught-up';
import { testLog } from '../support/desk';
import { databaseUri, newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose, imapClient } from '../support/mail';
import { imapEnv, startTocsin, type TocsinProcess } from '../support/tocsin-process';
import { waitFor } from '../support/wait';

/**
 * IMAP_MAILBOX=INBOX,Phishing through a real Tocsin process and Dovecot: each folder is watched
 * on its own connection with its own cursor and /readyz line, and a message in both is one case.
 */

interface Ready {
  status: string;
  mailbox: { state: string; mailbox: string };
  mailboxes: { state: string; mailbox: string; lastSyncAt: string | null; lastError: string | null }[];
}

const dbUri = databaseUri(uniqueName('folders'));
let tocsin: TocsinProcess | undefined;
beforeAll(() => connectDatabase(dbUri, testLog));
afterAll(async () => {
  await tocsin?.stop();
  await mongoose.connection.dropDatabase();
  await mongoose.disconnect();
});

const readyz = async (url: string) => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as Ready };
};

describe('when IMAP_MAILBOX names two folders of the account', () => {
  it('then mail in each becomes a case, a message in both is one case, and /readyz has a line per folder', async () => {
    const box = await newMailbox('folders');
    const tag = uniqueName('fold');
    const admin = await imapClient(box);
    try {
      await admin.mailboxCreate('Phishing');
      const both = await compose({ to: box.user, subject: `In both ${tag}`, text: 'copied by a rule' });
      await appendMessages(box, [await compose({ to: box.user, subject: `Inbox ${tag}`, text: 'a' }), both]);
      await appendMessages(
        box,
        [await compose({ to: box.user, subject: `Phish ${tag}`, text: 'b' }), both],
        'Phishing',
      );

      tocsin = await startTocsin({ MONGODB_URI: dbUri, ...imapEnv(box), IMAP_MAILBOX: 'INBOX, Phishing' });
      await caughtUp(box);
      await caughtUp({ ...box, mailbox: 'Phishing' });
      const first = await waitFor('both folders to be synced', async () => {
        const r = await readyz(tocsin!.url);
        return r.status === 200 ? r : null;
      });
      expect(first.body.mailboxes.map((m) => [m.mailbox, m.state])).toEqual([
        ['INBOX', 'idle'],
        ['Phishing', 'idle'],
      ]);
      expect(first.body.mailboxes.every((m) => m.lastSyncAt && !m.lastError)).toBe(true);

      const cursors = await MailCursor.find({ _id: new RegExp(`^imap:${box.user}@`) }).lean();
      expect(cursors.map((c) => String(c._id).split('/').pop()).sort()).toEqual(['INBOX', 'Phishing']);

      // New mail filed into the second folder arrives by that folder's own IDLE.
      await appendMessages(
        box,
        [await compose({ to: box.user, subject: `Later phish ${tag}`, text: 'c' })],
        'Phishing',
      );
      await waitFor('the later message in Phishing to make a case', () =>
        Case.exists({ subject: `Later phish ${tag}` }),
      );

      const cases = await Case.find({ subject: new RegExp(tag) }).lean();
      expect(cases.map((c) => c.subject).sort()).toEqual(
        [`In both ${tag}`, `Inbox ${tag}`, `Later phish ${tag}`, `Phish ${tag}`].sort(),
      );
      const copied = cases.find((c) => c.subject === `In both ${tag}`)!;
      expect(await TimelineEntry.countDocuments({ caseKey: copied.key, kind: 'email' })).toBe(1);

      // A folder that goes away is that folder's line, and the desk is not ready until it is back.
      await admin.mailboxDelete('Phishing');
      await appendMessages(box, [await compose({ to: box.user, subject: `Poke ${tag}`, text: 'd' })]);
      const broken = await waitFor(
        'the Phishing line to show the folder is gone',
        async () => {
          const r = await readyz(tocsin!.url);
          const line = r.body.mailboxes.find((m) => m.mailbox === 'Phishing');
          return r.status === 503 &&
            line?.state === 'backoff' &&
            /could not be opened/.test(line.lastError ?? '')
            ? r
            : null;
        },
        60_000,
      );
      expect(broken.body.mailbox.mailbox).toBe('Phishing');
      expect(broken.body.mailboxes.find((m) => m.mailbox === 'INBOX')?.state).toMatch(/idle|syncing/);
      const reason = broken.body.mailboxes.find((m) => m.mailbox === 'Phishing')?.lastError;
      // One sentence in the server's words, without the tagged response line imapflow hands over.
      expect(reason).toMatch(/^The folder Phishing could not be opened: Mailbox doesn't exist[^[]*\.$/);
    } finally {
      await admin.logout();
    }
  });
});
