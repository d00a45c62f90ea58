import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { ConfigError, describeConfig, loadConfig, loadDotEnv, mailboxesOf } from './config';
import { startHousekeeping } from './housekeeping';
import { createApp } from './http/app';
import { createLogger } from './lib/logger';
import { MailboxPoller } from './intake/poller';
import { openRuntime } from './runtime';
import { ClockScheduler } from './clocks/scheduler';
import { Pager } from './push/pager';
import { vapidKeys } from './push/vapid';

/** The composition root: config, database, HTTP, poller, and a graceful shutdown. */
async function main(): Promise<void> {
  let config;
  try {
    loadDotEnv();
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tocsin: ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
  const log = createLogger(config.logLevel);
  log.info({ config: describeConfig(config) }, 'starting Tocsin');

  const instanceId = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const runtime = await openRuntime(config, log, { publish: true, instanceId });
  if (!runtime.outbox) log.warn('SMTP_URL is not set: no acknowledgements or replies are sent');
  // One poller per folder of IMAP_MAILBOX, each with its own IDLE connection, cursor and lease.
  const pollers = mailboxesOf(config).map(
    (box) => new MailboxPoller(box, runtime.intake, log, instanceId, {}, runtime.mailboxTokens),
  );
  if (!pollers.length) log.warn('IMAP_HOST is not set: mail intake is off; tocsin ingest still works');

  const pager = new Pager({ log, keys: () => vapidKeys(config.vapid, config.vapidSubject) });
  const clocks = new ClockScheduler({ pager, playbook: runtime.playbook, log, instanceId });
  const app = createApp({
    pager,
    log,
    mailboxes: () => pollers.map((p) => p.status()),
    conversation: runtime.conversation,
    playbook: runtime.playbook,
    publicUrl: config.publicUrl,
    mailMember: runtime.mailMember,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(config.port, () => resolve(s));
  });
  const address = server.address();
  log.info({ port: typeof address === 'object' && address ? address.port : config.port }, 'listening');
  pollers.forEach((p) => p.start());
  runtime.outbox?.start();
  clocks.start();
  const stopHousekeeping = startHousekeeping(log);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    setTimeout(() => {
      log.error('shutdown took longer than 20 s; exiting');
      process.exit(1);
    }, 20_000).unref();
    stopHousekeeping();
    server.close();
    server.closeIdleConnections();
    await Promise.all(pollers.map((p) => p.stop()));
    await clocks.stop();
    pager.close();
    await runtime.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`tocsin: could not start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
