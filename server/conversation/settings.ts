import type { VerdictOptions } from '../mail/verdict';
import type { MailIdentity } from './identity';

/**
 * What holding a conversation with reporters needs: the desk's mail identity, whether mail can be
 * sent, how senders are checked. Intake without it opens a case for every message, unanswered.
 */
export interface ConversationSettings {
  identity: MailIdentity;
  /** Whether mail can be sent (SMTP_URL is set): acknowledgements are queued only then. */
  canSend: boolean;
  verdict: VerdictOptions;
  /** Called when mail was queued, so the outbox sends it now. */
  onQueued?: () => void;
}
