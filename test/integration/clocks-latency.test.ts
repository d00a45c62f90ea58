import type { ImapConfig } from '../../server/config';
import { ClockRig } from '../support/clock-rig';
import { newMailbox, uniqueName } from '../support/env';
import { compose, imapClient } from '../support/mail';
import { startPushService, type PushService } from '../support/push-service';
import { waitFor } from '../support/wait';

// From an urgent email in the mailbox to the page on a phone, end to end: IMAP APPEND to the real
// Dovecot, the desk's poller (IDLE), intake, the clock scheduler started as main.ts starts it
// (wall clock, default options) and the local push service. The figures are printed, not held to
// a bound: this machine is shared.

let push: PushService;
let box: ImapConfig;
let rig: ClockRig;

beforeAll(async () => {
  push = await startPushService();
  box = await newMailbox('clocks');
  rig = await ClockRig.start(push, { mailbox: box });
  await waitFor('the mailbox to be in sync', () => rig.desk.poller!.status().lastSyncAt);
});
afterAll(async () => {
  await rig.stop();
  await push.close();
});

/** The nearest-rank percentile of sorted values. */
const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;

describe('when urgent reports arrive by email', () => {
  it('then each page reaches the phones once (latency from APPEND to push printed)', async () => {
    rig.scheduler().start();
    const latencies: number[] = [];
    /** Of which: APPEND to the case written (the poller and intake); the rest is the clocks and push. */
    const toCase: number[] = [];
    const paged = new Set<string>();
    const client = await imapClient(box);
    try {
      for (let i = 1; i <= 10; i++) {
        const raw = await compose({
          subject: `[URGENT] website is down ${uniqueName('latency')}`,
          text: 'Nothing loads since a minute ago.',
        });
        const appendedAt = Date.now();
        await client.append(box.mailbox, raw);
        const page = await waitFor(
          `the page for report ${i}`,
          () =>
            rig
              .pushes()
              .find(
                (p) => p.to === 'On Call' && p.payload.alert === 'urgent-case' && !paged.has(p.payload.key),
              ),
          20_000,
        );
        paged.add(page.payload.key);
        const { createdAt } = await rig.caseView(page.payload.key);
        latencies.push(page.delivery.at.getTime() - appendedAt);
        toCase.push(new Date(createdAt).getTime() - appendedAt);
      }
    } finally {
      await client.logout();
    }

    // A few more ticks of the scheduler: nothing may come twice.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(paged.size).toBe(10);
    for (const key of paged) {
      const to = rig
        .pushes(key)
        .map((p) => `${p.payload.alert} → ${p.to}`)
        .sort();
      expect({ key, to }).toEqual({
        key,
        to: ['urgent-case → Lead A', 'urgent-case → Lead B', 'urgent-case → On Call'],
      });
      expect((await rig.alertLog(key)).map((e) => [e.kind, e.delivered])).toEqual([['urgent-case', 3]]);
    }
    expect(rig.pushes()).toHaveLength(30);

    const figures = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const mean = Math.round(values.reduce((a, b) => a + b, 0) / values.length);
      return `p50 ${percentile(sorted, 0.5)} ms, p99 ${percentile(sorted, 0.99)} ms, min ${sorted[0]} ms, mean ${mean} ms (each: ${values.join(', ')})`;
    };
    const afterCase = latencies.map((l, i) => l - toCase[i]!);
    process.stdout.write(
      `\nemail → page over ${latencies.length} urgent reports, APPEND to the push service: ${figures(latencies)}\n` +
        `  of which APPEND → case written: ${figures(toCase)}\n` +
        `  and case written → push arrived: ${figures(afterCase)}\n`,
    );
  });
});
