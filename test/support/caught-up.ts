import type { ImapConfig } from '../../server/config';
import { MailCursor } from '../../server/intake/store';
import { lastUid } from './mail';
import { waitFor } from './wait';

/** Waits until Tocsin's durable cursor has passed every message now in the mailbox. */
export async function caughtUp(box: ImapConfig, timeoutMs = 60_000): Promise<void> {
  const target = await lastUid(box);
  const id = `imap:${box.user}@${box.host}:${box.port}/${box.mailbox}`;
  await waitFor(
    `the cursor to reach UID ${target}`,
    async () => ((await MailCursor.findById(id).lean())?.lastUid ?? 0) >= target,
    timeoutMs,
  );
}
