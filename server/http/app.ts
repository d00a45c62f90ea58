import express, { type Express } from 'express';
import path from 'node:path';
import { pingDatabase } from '../db/connection';
import type { Logger } from '../logger';
import type { Playbook } from '../cases/playbook';
import type { ConversationSettings } from '../mail/ingest';
import type { PollerStatus } from '../mail/poller';
import { requireAuth } from './auth';
import { errorHandler, notFound } from './errors';
import { apiRoutes } from './routes';

export interface AppDeps {
  log: Logger;
  /** The mailbox poller's status, or undefined when intake is off (no IMAP settings). */
  mailbox: () => PollerStatus | undefined;
  conversation?: ConversationSettings;
  /** The playbook in force (names for the register); the built-in one when not given. */
  playbook?: Playbook;
}

const PWA_DIR = path.join(__dirname, '..', '..', 'pwa');

/** Builds the HTTP app; it does not listen (main.ts and the tests do). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use((_req, res, next) => {
    res.set({
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
      'Content-Security-Policy':
        "default-src 'self'; img-src 'self' data:; object-src 'none'; frame-ancestors 'none'",
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'alive' });
  });
  app.get('/readyz', async (_req, res) => {
    const database = await pingDatabase();
    const mailbox = deps.mailbox();
    const mailboxReady =
      !mailbox ||
      mailbox.state === 'standby' ||
      (['idle', 'syncing'].includes(mailbox.state) && !!mailbox.lastSyncAt);
    const ready = database && mailboxReady;
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not-ready',
      database: { ok: database },
      mailbox: mailbox ?? {
        state: 'off',
        note: 'No IMAP settings: intake is off; tocsin ingest still works.',
      },
    });
  });

  const api = express.Router();
  api.use(express.json({ limit: '1mb' }));
  api.use(requireAuth);
  for (const route of apiRoutes({ conversation: deps.conversation, playbook: deps.playbook }))
    api[route.method](route.path, route.handler);
  api.use(notFound);
  app.use('/api', api);

  app.use(express.static(PWA_DIR, { index: 'index.html', dotfiles: 'ignore' }));
  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
