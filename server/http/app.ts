import compression from 'compression';
import express, { type Express } from 'express';
import helmet from 'helmet';
import path from 'node:path';
import { pingDatabase } from '../db/connection';
import type { Logger } from '../lib/logger';
import type { Playbook } from '../cases/playbook';
import type { ConversationSettings } from '../conversation/settings';
import type { PollerStatus } from '../intake/poller-settings';
import type { MemberMailer } from '../auth/member-mail';
import type { Limit } from '../auth/rate-limit';
import { requireAuth } from './auth';
import { signInRoutes } from './signin';
import { errorHandler, notFound } from './errors';
import { mountRoutes } from './route-kit';
import { apiRoutes } from './routes';
import { storedKeyPager, type Pager } from '../push/pager';

export interface AppDeps {
  log: Logger;
  /** The status of each folder's poller; none when intake is off (no IMAP settings). */
  mailboxes: () => PollerStatus[];
  conversation?: ConversationSettings;
  /** The playbook in force (names for the register); the built-in one when not given. */
  playbook?: Playbook;
  /** Where members reach the desk (links, cookie name, origin checks); http://localhost if unset. */
  publicUrl?: string;
  /** Mails members sign-in links and account notices; without it, `tocsin login-link` gives links. */
  mailMember?: MemberMailer;
  /** Allowances for sign-in link requests (tests lower them). */
  linkLimits?: { perAddress: Limit; perIp: Limit };
  /** Pushes to members' devices; one signing with the stored VAPID keys when not given. */
  pager?: Pager;
}

/** The built PWA (`npm run build`). */
export const PWA_DIR = path.join(__dirname, '..', '..', 'pwa', 'dist');

/**
 * Security headers for everything we serve (helmet). The CSP allows nothing inline and nothing
 * from elsewhere; email HTML is framed only from its own route (email-html.ts), which sets a
 * stricter, sandboxing policy of its own.
 */
function securityHeaders(publicUrl: string) {
  const https = publicUrl.startsWith('https:');
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameSrc: ["'self'"],
        workerSrc: ["'self'"],
        manifestSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'none'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        ...(https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // No referrer leaves the site; within it, forms keep a real Origin (no-referrer would make a
    // form's Origin "null", which the sign-in's login-CSRF check must refuse).
    referrerPolicy: { policy: 'same-origin' },
    crossOriginEmbedderPolicy: false,
    strictTransportSecurity: https ? { maxAge: 15_552_000 } : false,
    xFrameOptions: { action: 'deny' },
  });
}

/** Builds the HTTP app; it does not listen (main.ts and the tests do). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  const publicUrl = deps.publicUrl ?? 'http://localhost';
  app.use(securityHeaders(publicUrl));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'alive' });
  });
  app.get('/readyz', async (_req, res) => {
    const database = await pingDatabase();
    const mailboxes = deps.mailboxes();
    const folderReady = (m: PollerStatus) =>
      m.state === 'standby' || (['idle', 'syncing'].includes(m.state) && !!m.lastSyncAt);
    const ready = database && mailboxes.every(folderReady);
    res.status(ready ? 200 : 503).json({
      status: ready ? 'ready' : 'not-ready',
      database: { ok: database },
      // The first folder that is not ready, else the first: what a one-line monitor shows.
      mailbox: mailboxes.find((m) => !folderReady(m)) ??
        mailboxes[0] ?? {
          state: 'off',
          note: 'No IMAP settings: intake is off; tocsin ingest still works.',
        },
      /** One line per folder of IMAP_MAILBOX. */
      mailboxes,
    });
  });

  app.use(
    '/auth',
    signInRoutes({ log: deps.log, publicUrl, mailMember: deps.mailMember, limits: deps.linkLimits }),
  );

  const api = express.Router();
  api.use(express.json({ limit: '1mb' }));
  api.use(requireAuth(publicUrl));
  mountRoutes(
    api,
    apiRoutes({
      conversation: deps.conversation,
      playbook: deps.playbook,
      publicUrl,
      mailMember: deps.mailMember,
      log: deps.log,
      pager: deps.pager ?? storedKeyPager(deps.log),
    }),
  );
  api.use(notFound);
  // API answers travel gzipped too (the register's page shrinks to a fifth on a phone's slow
  // link), except GET /api/me: it carries the session's CSRF token, whose length inside a
  // compressed answer could be read off, a guess at a time, from the encrypted size (BREACH).
  app.use('/api', compression({ filter: (req, res) => req.path !== '/me' && compression.filter(req, res) }));
  app.use('/api', api);
  // What Express serves under /api, for the test that holds the OpenAPI document to it.
  app.locals.apiRouter = api;

  // The PWA's files travel gzipped: a phone on a bad connection gets the first screen in a third of the bytes.
  app.use(compression());
  app.use(
    express.static(PWA_DIR, {
      index: 'index.html',
      dotfiles: 'ignore',
      // The shell and the service worker must be revalidated, or a phone keeps an old version.
      setHeaders: (res, file) => {
        if (/(?:^|[\\/])(?:index\.html|sw\.js|manifest\.webmanifest)$/.test(file))
          res.setHeader('Cache-Control', 'no-cache');
      },
    }),
  );
  app.use(notFound);
  app.use(errorHandler(deps.log));
  return app;
}
