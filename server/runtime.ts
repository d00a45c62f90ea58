import fs from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import type { Config } from './config';
import { connectDatabase } from './db/connection';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './db/embedded';
import type { Logger } from './lib/logger';
import { loadPlaybook, type Playbook } from './cases/playbook';
import { compilePlaybook } from './cases/suggest';
import { loadIdentity, type MailIdentity } from './conversation/identity';
import { OutboxWorker } from './conversation/outbox';
import { keptValue } from './db/settings';
import { sha256 } from './lib/hash';
import { AccessTokens, type OAuthClient } from './mail/oauth';
import { smtpTransport } from './mail/transport';
import { memberMailer, type MemberMailer } from './auth/member-mail';
import { alertSourcesOf } from './intake/alerts';
import { Intake } from './intake/ingest';
import { type ConversationSettings } from './conversation/settings';

/**
 * What the server and the CLI share: the database (embedded when MONGODB_URI is unset), the
 * playbook, and the intake pipeline. While the server runs its embedded database, the CLI uses
 * that one (found through DATA_DIR/embedded.json) rather than starting a second.
 */
export interface Runtime {
  intake: Intake;
  playbook: Playbook;
  identity: MailIdentity;
  conversation: ConversationSettings;
  /** Sends queued mail; only when SMTP_URL is set, and only in the server (not the CLI). */
  outbox?: OutboxWorker;
  /** Mails members about their account (sign-in links); only with SMTP_URL, in the server. */
  mailMember?: MemberMailer;
  /** The mailbox's OAuth 2.0 access tokens (IMAP_AUTH=oauth2). */
  mailboxTokens?: AccessTokens;
  close(): Promise<void>;
}

export async function openRuntime(
  config: Config,
  log: Logger,
  opts: { publish: boolean; instanceId?: string },
): Promise<Runtime> {
  const playbook = compilePlaybook(loadPlaybook(config.playbookFile));
  let embedded: EmbeddedDatabase | undefined;
  let uri = config.mongodbUri ?? runningEmbedded(config.dataDir);
  if (!uri) {
    embedded = await startEmbeddedDatabase(config.dataDir, log);
    uri = embedded.uri;
    if (opts.publish) writeRunning(config.dataDir, uri);
  }
  try {
    await connectDatabase(uri, log);
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  const identity = await loadIdentity(config.mailFrom, config.publicUrl);
  const tokens = tokenSources();
  const mailboxTokens = config.imap?.oauth && tokens(config.imap.oauth, 'IMAP_OAUTH');
  const smtpOauth = config.smtpOauth && {
    user: config.smtpOauth.user,
    tokens: tokens(config.smtpOauth.client, 'SMTP_OAUTH'),
  };
  const transport =
    config.smtpUrl && opts.instanceId ? smtpTransport(config.smtpUrl, { oauth: smtpOauth }) : undefined;
  const outbox =
    transport && opts.instanceId
      ? new OutboxWorker(transport, log, opts.instanceId, {
          // A stopped instance's hold on the outbox lasts as long as its hold on the mailbox.
          leaseTtlMs: (config.imap?.leaseSeconds ?? 30) * 1000,
        })
      : undefined;
  const conversation: ConversationSettings = {
    identity,
    canSend: Boolean(config.smtpUrl && config.mailFrom),
    verdict: { authservIds: config.authservIds },
    onQueued: () => outbox?.wake(),
  };
  const alertSources = alertSourcesOf(config.alertSenders, playbook.playbook.alertSources);
  const intake = new Intake({ playbook, log, conversation, alertSources });
  return {
    intake,
    playbook: playbook.playbook,
    identity,
    conversation,
    outbox,
    mailMember: transport && config.mailFrom ? memberMailer(transport, config.mailFrom) : undefined,
    mailboxTokens,
    close: async () => {
      await outbox?.stop();
      await mongoose.disconnect();
      if (embedded) {
        if (opts.publish) fs.rmSync(runningFile(config.dataDir), { force: true });
        await embedded.stop();
      }
    },
  };
}

/**
 * One AccessTokens per OAuth client and consent: IMAP and SMTP share one when their settings are
 * the same, so a rotated refresh token is used by both. The rotated token is kept under the hash
 * of the configured one, so setting a new IMAP_OAUTH_REFRESH_TOKEN (a new consent) wins over it.
 */
function tokenSources() {
  const made = new Map<string, AccessTokens>();
  return (client: OAuthClient, variables: string): AccessTokens => {
    const id = sha256(JSON.stringify([client.tokenUrl, client.clientId, client.scope, client.refreshToken]));
    let tokens = made.get(id);
    if (!tokens) {
      const store = client.refreshToken ? keptValue(`oauth-refresh-token:${id.slice(0, 32)}`) : undefined;
      tokens = new AccessTokens(client, store, { variables });
      made.set(id, tokens);
    }
    return tokens;
  };
}

const runningFile = (dataDir: string) => path.join(dataDir, 'embedded.json');

function writeRunning(dataDir: string, uri: string): void {
  fs.writeFileSync(runningFile(dataDir), JSON.stringify({ uri, pid: process.pid }) + '\n');
}

function runningEmbedded(dataDir: string): string | undefined {
  try {
    const { uri, pid } = JSON.parse(fs.readFileSync(runningFile(dataDir), 'utf8')) as {
      uri: string;
      pid: number;
    };
    process.kill(pid, 0); // throws when that server is gone
    return uri;
  } catch {
    return undefined;
  }
}
