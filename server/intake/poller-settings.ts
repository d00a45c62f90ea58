import type { BackoffOptions } from '../lib/backoff';
import type { ImapAccount } from '../mail/imap';
import type { OAuthClient } from '../mail/oauth';
import type { HistorySettings } from './history';
import type { IngestResult, IngestSource } from './store';

/** What the mailbox poller (intake/poller.ts) is given: the mailbox, its limits, and what it reports. */

/** The mailbox to watch: the account, how it signs in, the folder, and the limits intake keeps to. */
export interface MailboxSettings extends ImapAccount {
  /** IMAP_AUTH=password (the default). */
  password?: string;
  /** IMAP_AUTH=oauth2: the token client; the access tokens themselves come from the poller's `tokens`. */
  oauth?: OAuthClient;
  mailbox: string;
  /** What the very first connection does with the mail already there (IMAP_HISTORY, _SINCE). */
  history: HistorySettings;
  maxMessageBytes: number;
  leaseSeconds: number;
}

/** The name of the mailbox's lease and cursor: one per account and folder. */
export const mailboxKey = (m: MailboxSettings) => `imap:${m.user}@${m.host}:${m.port}/${m.mailbox}`;

export interface MailIntake {
  ingestOrQuarantine(raw: Buffer, source: IngestSource): Promise<IngestResult>;
  quarantineOversize(head: Buffer, size: number, limit: number, source: IngestSource): Promise<IngestResult>;
}

export interface PollerOptions {
  debounceMs: number;
  batchMessages: number;
  batchBytes: number;
  concurrency: number;
  leaseTtlMs: number;
  healthCheckMs: number;
  noopTimeoutMs: number;
  maxIdleTimeMs: number;
  socketTimeoutMs: number;
  backoff: BackoffOptions;
}

export const DEFAULT_POLLER_OPTIONS: PollerOptions = {
  debounceMs: 20,
  batchMessages: 50,
  batchBytes: 32 * 1024 * 1024,
  concurrency: 4,
  leaseTtlMs: 30_000,
  // A dead connection is noticed within healthCheckMs + noopTimeoutMs (90 s), well inside 5 min.
  healthCheckMs: 60_000,
  noopTimeoutMs: 30_000,
  // IDLE is re-issued every 4 minutes, well inside the 29 minutes RFC 2177 allows.
  maxIdleTimeMs: 4 * 60_000,
  socketTimeoutMs: 2 * 60_000,
  backoff: { baseMs: 1_000, maxMs: 60_000 },
};

export type PollerState = 'starting' | 'standby' | 'connecting' | 'syncing' | 'idle' | 'backoff' | 'stopped';

export interface PollerStatus {
  state: PollerState;
  mailbox: string;
  lastSyncAt: Date | null;
  lastError: string | null;
  reconnects: number;
}
