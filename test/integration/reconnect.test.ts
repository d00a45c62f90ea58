import { caughtUp } from '../support/caught-up';
import { startDesk, type Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose } from '../support/mail';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy';
import { waitFor } from '../support/wait';

let desk: Desk;
let proxy: TcpProxy;
beforeAll(async () => {
  desk = await startDesk();
});
afterAll(async () => {
  await desk.stop();
  await proxy?.close();
});

const report = (box: { user: string }, subject: string) =>
  compose({ to: box.user, subject, text: 'details' });

describe('when the connection to the mailbox breaks', () => {
  it('then the poller reconnects with backoff, never spins while the server refuses, and catches up', async () => {
    const box = await newMailbox('reconnect');
    proxy = await startTcpProxy(box.host, box.port);
    const viaProxy = { ...box, port: proxy.port };
    const poller = desk.startPoller(viaProxy, { backoff: { baseMs: 200, maxMs: 1_000 } });
    await waitFor('the first sync', () => poller.status().lastSyncAt);

    // The server goes away for 4 s: every connection is cut and new ones are refused.
    proxy.refuse(true);
    proxy.cut();
    await waitFor('the poller to notice', () => poller.status().state === 'backoff');
    const attemptsBefore = poller.status().reconnects;
    await new Promise((r) => setTimeout(r, 4_000));
    const attempts = poller.status().reconnects - attemptsBefore;
    // Backoff 200 ms doubling to a 1 s cap, with half-jitter: at most about 8 tries in 4 s.
    expect(attempts).toBeGreaterThanOrEqual(2);
    expect(attempts).toBeLessThanOrEqual(10);

    // Mail that arrives during the outage is ingested once the server is back.
    const marker = uniqueName('outage');
    await appendMessages(box, [await report(box, `During the outage ${marker}`)]);
    proxy.refuse(false);
    await caughtUp(viaProxy, 30_000);
    const { body } = await desk.api<{ cases: unknown[] }>(`/api/cases?q=${marker}`);
    expect(body.cases).toHaveLength(1);
    await poller.stop();
  });

  it('then a connection that goes silent is noticed by the NOOP watchdog and replaced', async () => {
    const box = await newMailbox('silent');
    const silentProxy = await startTcpProxy(box.host, box.port);
    try {
      const viaProxy = { ...box, port: silentProxy.port };
      const poller = desk.startPoller(viaProxy, {
        healthCheckMs: 500,
        noopTimeoutMs: 500,
        backoff: { baseMs: 100, maxMs: 200 },
      });
      await waitFor('the first sync', () => poller.status().lastSyncAt);
      const connections = silentProxy.accepted();

      silentProxy.blackhole(true);
      await waitFor(
        'the watchdog to give up on the silent connection',
        () => poller.status().reconnects > 0 && poller.status().lastError === 'NOOP got no answer',
        10_000,
      );
      silentProxy.blackhole(false);
      await waitFor('a new connection', () => silentProxy.accepted() > connections, 10_000);

      const marker = uniqueName('silent');
      await appendMessages(box, [await report(box, `After the silence ${marker}`)]);
      await caughtUp(viaProxy, 30_000);
      expect(poller.status().lastError).toBeNull();
      const { body } = await desk.api<{ cases: unknown[] }>(`/api/cases?q=${marker}`);
      expect(body.cases).toHaveLength(1);
      await poller.stop();
    } finally {
      await silentProxy.close();
    }
  });
});
