import { ImapSession, isLoginRefused, openFailure } from '../mail/imap';
import { OAuthError, type AccessTokens } from '../mail/oauth';
import { mailboxKey, type MailboxSettings } from './poller-settings';
import { MailCursor } from './store';

/**
 * `tocsin mailbox check`: connects with the configured settings, as the poller would, and says
 * in one line each what it found: the token, the server and what it offers, how it signed in,
 * each folder with its messages, and how far intake has read it. The admin's first command when
 * reports are not arriving.
 */

export interface CheckLine {
  ok: boolean;
  text: string;
}

export async function checkMailbox(
  settings: MailboxSettings,
  tokens: AccessTokens | undefined,
  folders: string[] = [settings.mailbox],
): Promise<CheckLine[]> {
  const lines: CheckLine[] = [];
  const say = (ok: boolean, text: string) => lines.push({ ok, text });
  say(
    true,
    `server: ${settings.host}:${settings.port}${settings.secure ? ' over TLS' : ' without TLS'}, as ${settings.user}`,
  );

  let accessToken: string | undefined;
  if (settings.oauth) {
    try {
      accessToken = await tokens!.get();
      say(
        true,
        `token: ${tokens!.grant.replace('_', '-')} grant at ${settings.oauth.tokenUrl}: an access token was issued`,
      );
    } catch (err) {
      if (!(err instanceof OAuthError)) throw err;
      say(false, `token: ${err.message}`);
      return lines;
    }
  }

  const session = new ImapSession(
    settings,
    accessToken ? { accessToken } : { password: settings.password ?? '' },
    settings.mailbox,
    { maxIdleTimeMs: 60_000, socketTimeoutMs: 60_000 },
    { onNewMail: () => undefined, onError: () => undefined },
  );
  try {
    try {
      await session.signIn();
    } catch (err) {
      const seen = session.describe();
      if (seen.greeting || seen.capabilities.length) say(true, greetingLine(seen));
      say(
        false,
        `login: ${openFailure(err, settings)}${isLoginRefused(err) && settings.oauth ? hint(settings) : ''}`,
      );
      return lines;
    }
    const seen = session.describe();
    say(true, greetingLine(seen));
    say(true, `login: signed in as ${settings.user} with ${seen.signedInWith ?? 'LOGIN'}`);
    for (const folder of folders) await checkFolder({ ...settings, mailbox: folder }, session, say);
    return lines;
  } finally {
    session.close();
  }
}

/** One watched folder: its messages, and how far intake has read it or what its first start does. */
async function checkFolder(
  settings: MailboxSettings,
  session: ImapSession,
  say: (ok: boolean, text: string) => void,
): Promise<void> {
  const folder = settings.mailbox;
  let status: { messages: number; uidValidity: string };
  try {
    status = await session.folderStatus(folder);
  } catch (err) {
    say(false, `folder ${folder}: could not be read: ${(err as Error).message}`);
    return;
  }
  const { messages: count, uidValidity } = status;
  say(true, `folder ${folder}: ${plural(count)}, UIDVALIDITY ${uidValidity}`);
  const cursor = await MailCursor.findById(mailboxKey(settings)).lean();
  if (!cursor) say(true, `history of ${folder}: intake has not read it yet; ${firstStart(settings, count)}`);
  else if (cursor.uidValidity !== uidValidity)
    say(
      true,
      `history of ${folder}: its UIDVALIDITY changed since intake last read it; the next start reads it again and skips what it has; mail from before the first start keeps its treatment`,
    );
  else
    say(
      true,
      `history of ${folder}: intake has read up to UID ${cursor.lastUid}, last synced ${cursor.lastSyncAt?.toISOString() ?? 'never'}`,
    );
}

const plural = (n: number) => `${n} message${n === 1 ? '' : 's'}`;

/** What the first start will do with the mail already in the folder (IMAP_HISTORY, _SINCE). */
function firstStart({ history }: MailboxSettings, count: number): string {
  const since = history.since
    ? `; mail received before ${history.since.toISOString().slice(0, 10)} stays in the mailbox, unread (IMAP_HISTORY_SINCE)`
    : '';
  if (history.mode === 'skip')
    return `its first start leaves the ${plural(count)} here unread and makes cases of new mail only (IMAP_HISTORY=skip)`;
  if (history.mode === 'open')
    return `its first start turns the ${plural(count)} here into draft cases in the inbox (IMAP_HISTORY=open)${since}`;
  return `its first start imports the ${plural(count)} here as closed cases, in the register but not the inbox, with no acknowledgement or page (IMAP_HISTORY=archive)${since}`;
}

const greetingLine = (seen: { greeting: string; capabilities: string[] }) =>
  `greeting: ${seen.greeting || '(none)'}; capabilities: ${seen.capabilities.join(' ') || '(none listed)'}`;

/** What to look at when the server refused a token the provider issued. */
function hint(settings: MailboxSettings): string {
  return settings.oauth?.refreshToken
    ? ' The token was issued but the mailbox refused it: check IMAP_OAUTH_SCOPE (Google: https://mail.google.com/; Microsoft: https://outlook.office.com/IMAP.AccessAsUser.All offline_access) and that IMAP_USER is the account that gave consent.'
    : ' The token was issued but the mailbox refused it: check IMAP_OAUTH_SCOPE (https://outlook.office365.com/.default), that the app has IMAP.AccessAsApp, and that the Exchange service principal has FullAccess to IMAP_USER (Add-MailboxPermission).';
}
