import mongoose from 'mongoose';
import { connectDatabase } from '../../server/db/connection';
import { Case, TimelineEntry } from '../../server/cases/models';
import { loadPlaybook } from '../../server/cases/playbook';
import { compilePlaybook } from '../../server/cases/suggest';
import { Intake } from '../../server/intake/ingest';
import { Inbound } from '../../server/intake/store';
import { caughtUp } from '../support/caught-up';
import { testLog } from '../support/desk';
import { databaseUri, newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose } from '../support/mail';
import { imapEnv, startTocsin, type TocsinProcess } from '../support/tocsin-process';
import { waitFor } from '../support/wait';

const dbUri = databaseUri(uniqueName('crash'));
const started: TocsinProcess[] = [];
const start = async (env: Record<string, string>) => {
  const p = await startTocsin({ MONGODB_URI: dbUri, ...env });
  started.push(p);
  return p;
};

beforeAll(() => connectDatabase(dbUri, testLog));
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop()));
  await mongoose.connection.dropDatabase();
  await mongoose.disconnect();
});

const reports = (n: number, tag: string) =>
  Promise.all(
    Array.from({ length: n }, (_, i) =>
      compose({
        to: 'desk@example.test',
        subject: `Report ${i} ${tag}`,
        text: `Report number ${i}: the wiki is slow.`,
      }),
    ),
  );

async function expectExactlyOneCasePerMessage(tag: string, n: number) {
  const cases = await Case.find({ subject: new RegExp(tag) }).lean();
  expect(cases).toHaveLength(n);
  expect(new Set(cases.map((c) => c.source)).size).toBe(n);
  expect(new Set(cases.map((c) => c.subject)).size).toBe(n);
  const entries = await TimelineEntry.countDocuments({ caseKey: { $in: cases.map((c) => c.key) } });
  expect(entries).toBe(n);
}

describe('when Tocsin is killed with SIGKILL in the middle of a batch of 50', () => {
  it('then after a restart there are exactly 50 cases, one per message', async () => {
    const box = await newMailbox('crash');
    const tag = uniqueName('batch');
    await appendMessages(box, await reports(50, tag));

    const first = await start(imapEnv(box));
    const atKill = await waitFor(
      'the first cases of the batch',
      async () => {
        const n = await Inbound.countDocuments({});
        return n > 0 ? n : undefined;
      },
      60_000,
      5,
    );
    await first.kill9();
    const casesAtKill = await Case.countDocuments({ subject: new RegExp(tag) });
    expect(casesAtKill).toBeLessThan(50); // the kill really landed mid-batch

    await start(imapEnv(box));
    await caughtUp(box, 90_000);
    await expectExactlyOneCasePerMessage(tag, 50);
    expect(atKill).toBeGreaterThan(0);
  });
});

describe('when an ingest stopped after reserving a case key but before writing the case', () => {
  it('then running it again finishes it with the same key, and a third run changes nothing', async () => {
    const intake = new Intake({ playbook: compilePlaybook(loadPlaybook()), log: testLog });
    const tag = uniqueName('half');
    const [raw] = await reports(1, tag);
    const first = await intake.ingest(raw!, { kind: 'file', file: 'half.eml' });
    if (first.outcome !== 'created') throw new Error(`expected a new case, got ${first.outcome}`);
    // Put the records back as a crash between the key reservation and the case write leaves them.
    await Case.deleteOne({ key: first.caseKey });
    await TimelineEntry.deleteMany({ caseKey: first.caseKey });
    await Inbound.updateOne({ _id: first.ingestKey }, { $set: { state: 'pending' } });

    const again = await intake.ingest(raw!, { kind: 'file', file: 'half.eml' });
    expect(again).toMatchObject({ outcome: 'created', caseKey: first.caseKey });
    const third = await intake.ingest(raw!, { kind: 'file', file: 'half.eml' });
    expect(third).toMatchObject({ outcome: 'duplicate', caseKey: first.caseKey });
    await expectExactlyOneCasePerMessage(tag, 1);
  });
});

describe('when two Tocsin processes watch one mailbox', () => {
  it('then one ingests while the other stands by, no message is doubled, and the standby takes over', async () => {
    const box = await newMailbox('pair');
    const tag = uniqueName('pair');
    await appendMessages(box, await reports(30, tag));
    const env = { ...imapEnv(box), LOG_LEVEL: 'debug' };
    const [a, b] = await Promise.all([start(env), start(env)]);
    await caughtUp(box, 90_000);
    await expectExactlyOneCasePerMessage(tag, 30);

    const states = await Promise.all(
      [a!, b!].map(
        async (p) =>
          ((await (await fetch(`${p.url}/readyz`)).json()) as { mailbox: { state: string } }).mailbox.state,
      ),
    );
    expect(states.filter((s) => s === 'standby')).toHaveLength(1);
    expect(states.filter((s) => s === 'idle' || s === 'syncing')).toHaveLength(1);

    const holder = states[0] === 'standby' ? b! : a!;
    await holder.kill9();
    await appendMessages(box, await reports(5, `${tag}-after`));
    await caughtUp(box, 90_000);
    await expectExactlyOneCasePerMessage(`${tag}-after`, 5);
    await expectExactlyOneCasePerMessage(tag, 35);
    // Neither process wrote the mailbox password into its logs.
    expect(a!.output() + b!.output()).not.toContain(box.password);
  });
});

describe('when the first catch-up on a backlog takes longer than the lease', () => {
  it('then the holder keeps renewing during it, and a second process stays on standby', async () => {
    const box = { ...(await newMailbox('longsync')), leaseSeconds: 3 };
    const tag = uniqueName('longsync');
    await appendMessages(box, await reports(300, tag));
    const first = await start(imapEnv(box));
    await waitFor('the catch-up to begin', async () => (await Inbound.countDocuments({})) > 0, 60_000, 20);
    const second = await start(imapEnv(box));

    const seen = new Set<string>();
    const stateOf = async (p: TocsinProcess) =>
      ((await (await fetch(`${p.url}/readyz`)).json()) as { mailbox: { state: string } }).mailbox.state;
    await waitFor(
      'the backlog to be ingested',
      async () => {
        seen.add(await stateOf(second));
        return (await Case.countDocuments({ subject: new RegExp(tag) })) === 300;
      },
      120_000,
      200,
    );
    expect([...seen]).toEqual(['standby']);
    expect(['idle', 'syncing']).toContain(await stateOf(first));
    await caughtUp(box, 60_000);
    await expectExactlyOneCasePerMessage(tag, 300);
  });
});
