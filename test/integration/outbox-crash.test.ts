import mongoose from 'mongoose';
import { addUser, createToken } from '../../server/auth/users';
import { connectDatabase } from '../../server/db/connection';
import { Case } from '../../server/cases/models';
import { testLog } from '../support/desk';
import { databaseUri, newMailbox, uniqueName } from '../support/env';
import { compose, deliverLmtp } from '../support/mail';
import { readMailbox, startSmtpRelay, waitForMailbox, type SmtpRelay } from '../support/smtp';
import { imapEnv, startTocsin, type TocsinProcess } from '../support/tocsin-process';
import { waitFor } from '../support/wait';

/**
 * The durable outbox across a power cut: Tocsin is killed with SIGKILL after a reply is on the
 * timeline and while SMTP has not yet accepted it. After a restart it is delivered exactly once.
 */

const dbUri = databaseUri(uniqueName('outbox'));
const started: TocsinProcess[] = [];
let relay: SmtpRelay | undefined;

beforeAll(() => connectDatabase(dbUri, testLog));
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await relay?.close();
  await mongoose.connection.dropDatabase();
  await mongoose.disconnect();
});

describe('when Tocsin is killed between writing a reply to the timeline and SMTP accepting it', () => {
  it('then after a restart the reporter receives that reply exactly once', async () => {
    relay = await startSmtpRelay();
    const port = relay.port;
    const deskBox = { ...(await newMailbox('desk')), leaseSeconds: 3 };
    const reporter = await newMailbox('reporter');
    const email = `${uniqueName('member')}@example.org`.toLowerCase();
    await addUser(email, 'Member', 'member');
    const token = await createToken(email);
    const env = { MONGODB_URI: dbUri, ...imapEnv(deskBox), SMTP_URL: relay.url, MAIL_FROM: deskBox.user };
    const start = async () => {
      const p = await startTocsin(env);
      started.push(p);
      return p;
    };

    const tag = uniqueName('crash');
    await deliverLmtp(
      await compose({
        from: reporter.user,
        to: deskBox.user,
        subject: `VPN broken ${tag}`,
        text: 'VPN fails.',
      }),
      deskBox.user,
    );
    const first = await start();
    await waitForMailbox(reporter, (m) => m.length === 1, 30_000); // the acknowledgement
    const key = (await waitFor('the case', () => Case.findOne({ subject: new RegExp(tag) }).lean(), 30_000))!
      .key;

    relay.mode = 'stall';
    const res = await fetch(`${first.url}/api/cases/${key}/replies`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: `We are on it (${tag}).` }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    // On the timeline, and SMTP holds the message without having said yes.
    await waitFor('the reply to reach the stalled SMTP server', () => relay!.stalled === 1, 30_000);
    const entry = await fetch(`${first.url}/api/cases/${key}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const timeline = (
      (await entry.json()) as { timeline: { id: string; email?: { delivery?: { state: string } } }[] }
    ).timeline;
    expect(timeline.find((e) => e.id === id)?.email?.delivery?.state).toBe('pending');

    await first.kill9();
    await relay.close();
    relay = await startSmtpRelay({ port });
    expect(await readMailbox(reporter)).toHaveLength(1);

    await start();
    const mail = await waitForMailbox(reporter, (m) => m.length >= 2, 60_000);
    await new Promise((r) => setTimeout(r, 3_000)); // room for a wrongful second copy to arrive
    const copies = (await readMailbox(reporter)).filter((m) => m.raw.includes(Buffer.from(`on it (${tag})`)));
    expect(copies).toHaveLength(1);
    expect(mail).toHaveLength(2);
    expect(relay.messages).toHaveLength(1);
  }, 180_000);
});
