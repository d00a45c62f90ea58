import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, loadDotEnv, type Config } from './config';
import { rotateVapidKeys } from './push/vapid';
import { issueLoginLink } from './auth/magic-link';
import { addUser, createToken, UserError } from './auth/users';
import { createLogger } from './lib/logger';
import { checkMailbox } from './intake/mailbox-check';
import { listQuarantine, QuarantineRetryError, retryQuarantined } from './intake/quarantine';
import { openRuntime, type Runtime } from './runtime';

/** `tocsin …`: the same domain services as the server, for admins and scripts. */

const USAGE = `usage:
  tocsin user add EMAIL --name NAME --role admin|lead|member
  tocsin token create EMAIL
  tocsin login-link EMAIL
  tocsin ingest FILE.eml…
  tocsin quarantine list [--all]
  tocsin quarantine retry ID…
  tocsin mailbox check
  tocsin vapid rotate`;

class UsageError extends Error {}

const out = (line: string) => process.stdout.write(line + '\n');

async function run(
  argv: string[],
  runtime: () => Promise<Runtime>,
  config: Pick<Config, 'publicUrl' | 'vapid' | 'vapidSubject' | 'imap' | 'imapFolders'>,
): Promise<number> {
  const publicUrl = config.publicUrl;
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, role: { type: 'string' }, all: { type: 'boolean' } },
  });
  const [command, sub, ...rest] = positionals;
  const words = [sub, ...rest].filter((w): w is string => w !== undefined);

  if (command === 'user' && sub === 'add' && rest.length === 1) {
    await runtime();
    const user = await addUser(rest[0]!, values.name ?? '', values.role ?? '');
    out(`added ${user.email} (${user.name}) as ${user.role}`);
    return 0;
  }
  if (command === 'token' && sub === 'create' && rest.length === 1) {
    await runtime();
    out(await createToken(rest[0]!));
    return 0;
  }
  if (command === 'login-link' && words.length === 1) {
    await runtime();
    const link = await issueLoginLink(words[0]!, publicUrl);
    if (!link) throw new UserError(`No member has the address ${words[0]}: add one with tocsin user add.`);
    out(link.url);
    out(`(works once, within 15 minutes, for ${link.user.email})`);
    return 0;
  }
  if (command === 'ingest' && words.length > 0) {
    const { intake } = await runtime();
    let failed = 0;
    for (const file of words) {
      let raw: Buffer;
      try {
        raw = fs.readFileSync(file);
      } catch (err) {
        out(`${file}: not read: ${(err as Error).message}`);
        failed++;
        continue;
      }
      const result = await intake.ingestOrQuarantine(raw, { kind: 'file', file });
      if (result.outcome === 'quarantined')
        out(`${file}: quarantined as ${result.quarantineId}: ${result.reason}`);
      else if (result.outcome === 'appended')
        out(`${file}: added to case ${result.caseKey} (by ${result.by})`);
      else
        out(
          `${file}: ${result.outcome === 'created' ? 'new case' : 'already ingested, case'} ${result.caseKey}`,
        );
    }
    return failed ? 1 : 0;
  }
  if (command === 'quarantine' && sub === 'list' && rest.length === 0) {
    await runtime();
    const items = await listQuarantine(values.all ? 'all' : 'open');
    if (items.length === 0) out('quarantine is empty');
    for (const q of items) {
      const subject = q.headers?.find((h) => h.name?.toLowerCase() === 'subject')?.value ?? '';
      out(
        `${q._id}\t${q.state}\t${q.createdAt?.toISOString()}\t${q.size ?? '?'} bytes\t${subject}\t${q.reason}`,
      );
    }
    return 0;
  }
  if (command === 'quarantine' && sub === 'retry' && rest.length > 0) {
    const { intake } = await runtime();
    let failed = 0;
    for (const id of rest) {
      try {
        const r = await retryQuarantined(id, intake);
        out(`${id}: ${r.already ? 'already resolved as' : 'ingested as'} ${r.caseKey ?? '?'}`);
      } catch (err) {
        if (!(err instanceof QuarantineRetryError)) throw err;
        out(`${id}: ${err.message}`);
        failed++;
      }
    }
    return failed ? 1 : 0;
  }
  if (command === 'mailbox' && sub === 'check' && rest.length === 0) {
    if (!config.imap) throw new UsageError('IMAP_HOST is not set: there is no mailbox to check.');
    const { mailboxTokens } = await runtime();
    const lines = await checkMailbox(config.imap, mailboxTokens, config.imapFolders);
    for (const line of lines) out(`${line.ok ? 'ok  ' : 'FAIL'} ${line.text}`);
    return lines.every((l) => l.ok) ? 0 : 1;
  }
  if (command === 'vapid' && sub === 'rotate' && rest.length === 0) {
    if (config.vapid)
      throw new UsageError(
        'VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY are set: rotate by setting new ones (npx web-push generate-vapid-keys) and restarting Tocsin.',
      );
    await runtime();
    const keys = await rotateVapidKeys(config.vapidSubject);
    out(`new VAPID public key ${keys.publicKey}`);
    out(
      'Restart Tocsin to sign with it. Each member’s PWA subscribes again with the new key the next time it opens; until then their devices are marked stale and get no pushes.',
    );
    return 0;
  }
  throw new UsageError(USAGE);
}

async function main(): Promise<void> {
  let runtime: Runtime | undefined;
  let code: number;
  try {
    loadDotEnv();
    const config = loadConfig();
    const log = createLogger(process.env.LOG_LEVEL ?? 'warn');
    code = await run(
      process.argv.slice(2),
      async () => (runtime ??= await openRuntime(config, log, { publish: false })),
      config,
    );
  } catch (err) {
    const known = err instanceof UsageError || err instanceof ConfigError || err instanceof UserError;
    process.stderr.write(`${known ? '' : 'tocsin: '}${err instanceof Error ? err.message : String(err)}\n`);
    code = err instanceof UsageError ? 64 : 1;
  } finally {
    await runtime?.close();
  }
  process.exit(code);
}

void main();
