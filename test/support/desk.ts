import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import type { AddressInfo } from 'node:net';
import mongoose from 'mongoose';
import pino from 'pino';
import type { ImapConfig } from '../../server/config';
import { memberMailer } from '../../server/auth/member-mail';
import type { Limit } from '../../server/auth/rate-limit';
import { addUser, createToken } from '../../server/auth/users';
import { loadPlaybook } from '../../server/cases/playbook';
import { compilePlaybook } from '../../server/cases/suggest';
import { connectDatabase } from '../../server/db/connection';
import { resetRegisterCache } from '../../server/cases/register-cache';
import { createApp } from '../../server/http/app';
import { loadIdentity, type MailIdentity } from '../../server/conversation/identity';
import { OutboxWorker, type OutboxOptions } from '../../server/conversation/outbox';
import { smtpTransport } from '../../server/mail/transport';
import { alertSourcesOf } from '../../server/intake/alerts';
import { Intake } from '../../server/intake/ingest';
import { type ConversationSettings } from '../../server/conversation/settings';
import type { VerdictOptions } from '../../server/mail/verdict';
import { MailboxPoller } from '../../server/intake/poller';
import type { PollerOptions } from '../../server/intake/poller-settings';
import { databaseUri, uniqueName } from './env';

/**
 * Tocsin in-process, wired as main.ts wires it, against the real test database and Dovecot, with
 * the HTTP server on port 0 and a signed-in admin token.
 */
export interface Desk {
  /** The desk on 127.0.0.1 (for fetch); publicUrl is the same desk by name, as in its links. */
  url: string;
  publicUrl: string;
  /** The Express app, for tests that inspect what it serves. */
  app: Express;
  /** The desk's own database, for child processes (the CLI) to share. */
  dbUri: string;
  token: string;
  intake: Intake;
  identity: MailIdentity;
  poller?: MailboxPoller;
  api<T = unknown>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
  startPoller(box: ImapConfig, options?: Partial<PollerOptions>, instance?: string): MailboxPoller;
  stop(): Promise<void>;
}

export const testLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export interface DeskOptions {
  mailbox?: ImapConfig;
  poller?: Partial<PollerOptions>;
  /** Sends mail through this SMTP URL (a test relay), from `mailFrom`. */
  smtpUrl?: string;
  mailFrom?: string;
  authservIds?: string[];
  /** DNS for DKIM keys; the default here has no internet, so lookups fail fast. */
  resolver?: VerdictOptions['resolver'];
  outbox?: Partial<OutboxOptions>;
  /**
   * The desk's PUBLIC_URL, given its port: `http://localhost:<port>` by default, which is what
   * WebAuthn needs (an IP address can not be a relying party ID).
   */
  publicUrl?: (port: number) => string;
  linkLimits?: { perAddress: Limit; perIp: Limit };
  /** ALERT_SENDERS: monitoring systems whose mail opens cases. */
  alertSenders?: string[];
  /** PLAYBOOK_FILE: a playbook of the test's own (the built-in one when unset). */
  playbookFile?: string;
}

export async function startDesk(opts: DeskOptions = {}): Promise<Desk> {
  const dbUri = databaseUri(uniqueName('tocsin'));
  await connectDatabase(dbUri, testLog);
  resetRegisterCache();
  const mailFrom = opts.mailFrom ?? 'security@desk.example.net';
  const identity = await loadIdentity(mailFrom, 'http://localhost');
  const outbox = opts.smtpUrl
    ? new OutboxWorker(smtpTransport(opts.smtpUrl), testLog, uniqueName('outbox'), opts.outbox)
    : undefined;
  const conversation: ConversationSettings = {
    identity,
    canSend: Boolean(opts.smtpUrl),
    verdict: { authservIds: opts.authservIds ?? [], resolver: opts.resolver },
    onQueued: () => outbox?.wake(),
  };
  const playbook = loadPlaybook(opts.playbookFile);
  const intake = new Intake({
    playbook: compilePlaybook(playbook),
    log: testLog,
    conversation,
    alertSources: alertSourcesOf(opts.alertSenders ?? [], playbook.alertSources),
  });
  outbox?.start();
  const pollers: MailboxPoller[] = [];
  let current: MailboxPoller | undefined;
  // Listen first, so that the app knows its own address (PUBLIC_URL) when it is built.
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;
  const publicUrl = (opts.publicUrl ?? ((p) => `http://localhost:${p}`))(port);
  const app = createApp({
    log: testLog,
    mailboxes: () => (current ? [current.status()] : []),
    conversation,
    playbook,
    publicUrl,
    mailMember: opts.smtpUrl ? memberMailer(smtpTransport(opts.smtpUrl), mailFrom) : undefined,
    linkLimits: opts.linkLimits,
  });
  server.on('request', app);
  const email = `${uniqueName('admin')}@example.org`.toLowerCase();
  await addUser(email, 'Test Admin', 'admin');
  const token = await createToken(email);

  const desk: Desk = {
    url,
    publicUrl,
    app,
    dbUri,
    token,
    intake,
    identity,
    async api<T>(path: string, init: RequestInit = {}) {
      const res = await fetch(url + path, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
    startPoller(box, options = {}, instance = uniqueName('instance')) {
      const poller = new MailboxPoller(box, intake, testLog, instance, { ...opts.poller, ...options });
      pollers.push(poller);
      current = poller;
      desk.poller = poller;
      poller.start();
      return poller;
    },
    async stop() {
      await Promise.all([...pollers.map((p) => p.stop()), outbox?.stop()]);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      await mongoose.connection.dropDatabase().catch(() => undefined);
      await mongoose.disconnect();
    },
  };
  if (opts.mailbox) desk.startPoller(opts.mailbox);
  return desk;
}
