import { MailCursor } from '../../server/intake/store';
import { caughtUp } from '../support/caught-up';
import { startDesk, type Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose, imapClient } from '../support/mail';

let desk: Desk;
beforeAll(async () => {
  desk = await startDesk();
});
afterAll(() => desk.stop());

describe('when the mailbox is re-created and its UIDVALIDITY changes', () => {
  it('then Tocsin takes a new baseline, skips what it has, and ingests only the new message', async () => {
    const box = { ...(await newMailbox('uidv')), mailbox: 'Reports' };
    const tag = uniqueName('uidv');
    const messages = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        compose({ to: box.user, subject: `Item ${i} ${tag}`, text: 'details' }),
      ),
    );
    const admin = await imapClient(box);
    try {
      await admin.mailboxCreate('Reports');
      await appendMessages(box, messages);
      const first = desk.startPoller(box);
      await caughtUp(box);
      const cursorId = `imap:${box.user}@${box.host}:${box.port}/Reports`;
      const before = (await MailCursor.findById(cursorId).lean())!.uidValidity;
      await first.stop();

      await admin.mailboxDelete('Reports');
      await admin.mailboxCreate('Reports');
      await appendMessages(box, [
        ...messages,
        await compose({ to: box.user, subject: `New ${tag}`, text: 'fresh' }),
      ]);
      desk.startPoller(box);
      await caughtUp(box);

      const after = (await MailCursor.findById(cursorId).lean())!.uidValidity;
      expect(after).not.toBe(before);
      const { body } = await desk.api<{ cases: { subject: string }[] }>(`/api/cases?q=${tag}&limit=50`);
      expect(body.cases).toHaveLength(6);
      expect(new Set(body.cases.map((c) => c.subject)).size).toBe(6);
    } finally {
      await admin.logout();
    }
  });
});
