/**
 * The baseline of (f)'s fan-out, in a process of its own as Tocsin is: web-push's
 * sendNotification to each subscription read from stdin, as many at a time as Tocsin's pool, over
 * one keep-alive agent. It sends one push first so that start-up and the first handshake are not
 * timed, then prints `{"ms": …, "accepted": …}`: the time until the push service had answered
 * every push, and how many it accepted.
 *
 * stdin: {"subscriptions": [...], "pool": 64, "caFile": "…", "keys": {publicKey, privateKey}}
 */
import fs from 'node:fs';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import webpush, { type PushSubscription } from 'web-push';
import { mapPool } from '../../server/lib/pool';

interface Input {
  subscriptions: PushSubscription[];
  pool: number;
  caFile: string;
  keys: { publicKey: string; privateKey: string };
}

async function main(): Promise<void> {
  const input = JSON.parse(fs.readFileSync(0, 'utf8')) as Input;
  const agent = new https.Agent({
    keepAlive: true,
    maxSockets: input.pool,
    ca: fs.readFileSync(input.caFile),
  });
  const send = (s: PushSubscription) =>
    webpush
      .sendNotification(s, JSON.stringify({ alert: 'test', url: '/' }), {
        vapidDetails: { subject: 'mailto:bench@example.org', ...input.keys },
        TTL: 60,
        urgency: 'high',
        agent,
      })
      .then(
        (r) => r.statusCode < 300,
        () => false,
      );
  const [first, ...rest] = input.subscriptions;
  if (!first) throw new Error('no subscriptions given');
  await send(first);
  const t0 = performance.now();
  const accepted = (await mapPool(rest, input.pool, send)).filter(Boolean).length;
  const elapsed = performance.now() - t0;
  agent.destroy();
  process.stdout.write(JSON.stringify({ ms: elapsed, accepted }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
