import type { AlertSourceRule } from '../cases/playbook';
import { sha256 } from '../lib/hash';

/**
 * Mail from monitoring systems (ALERT_SENDERS, the playbook's alertSources): machine-written, yet
 * a report. It opens a case instead of being quarantined, is never acknowledged, and a repeat of
 * an alert whose case is open joins that case rather than opening another. An alert is told from
 * another by its group: by default its subject without the state words monitoring tools put in it
 * (`DOWN:`, `UP:`, `[FIRING:3]`, `[RESOLVED]`), so "DOWN: shop.example" and "UP: shop.example"
 * are one alert.
 */

export interface AlertSource {
  /** A lower-case address, or `@domain` for the domain and its subdomains. */
  sender: string;
  type?: string;
  severity?: string;
  /** A header whose value names the alert (e.g. an alert id); without one, the subject does. */
  groupHeader?: string;
}

/** ALERT_SENDERS' entries, then the playbook's alertSources: the first one that matches counts. */
export function alertSourcesOf(senders: string[], rules: AlertSourceRule[]): AlertSource[] {
  const fromPlaybook = rules.map((r) => ({ ...r, sender: r.sender.toLowerCase() }));
  const named = new Set(fromPlaybook.map((r) => r.sender));
  return [...fromPlaybook, ...senders.filter((s) => !named.has(s)).map((sender) => ({ sender }))];
}

export function alertSourceFor(address: string | undefined, sources: AlertSource[]): AlertSource | undefined {
  const from = (address ?? '').trim().toLowerCase();
  const at = from.lastIndexOf('@');
  if (at <= 0) return undefined;
  const domain = from.slice(at + 1);
  return sources.find((s) =>
    s.sender.startsWith('@')
      ? domain === s.sender.slice(1) || domain.endsWith(`.${s.sender.slice(1)}`)
      : s.sender === from,
  );
}

/** State words: bracketed (`[FIRING:2]`, `[RESOLVED]`) or a word and a colon (`DOWN:`). */
const STATE_WORDS =
  /\[\s*(FIRING|RESOLVED|ALERT|OK|PROBLEM|RECOVERY|DOWN|UP)(\s*:\s*\d+)?\s*\]|(?<![\p{L}\p{N}])(FIRING|RESOLVED|ALERT|PROBLEM|RECOVERY|RECOVERED|DOWN|UP|OK)\s*:/giu;
const RECOVERY = new Set(['RESOLVED', 'RECOVERY', 'RECOVERED', 'UP', 'OK']);
const REPLY_PREFIX = /^(\s*(re|fwd?|aw|wg)\s*:)+/i;

export interface AlertReading {
  /** What names this alert among the sender's: the same for its firing and its recovery. */
  group: string;
  /** The mail says the alert is over (UP, RESOLVED, RECOVERED, OK). */
  recovery: boolean;
}

export function readAlert(
  subject: string,
  headers: { name: string; value: string }[],
  source: AlertSource,
): AlertReading {
  let recovery = false;
  let firing = false;
  const rest = subject.replace(REPLY_PREFIX, '').replace(STATE_WORDS, (...m: string[]) => {
    const word = (m[1] ?? m[3] ?? '').toUpperCase();
    if (RECOVERY.has(word)) recovery = true;
    else firing = true;
    return ' ';
  });
  const header =
    source.groupHeader &&
    headers.find((h) => h.name.toLowerCase() === source.groupHeader!.toLowerCase())?.value.trim();
  const named = header || rest.replace(/\s+/g, ' ').trim().toLowerCase();
  // A mail that says both ("[FIRING:1] … [RESOLVED:1] …", a summary) is not a recovery.
  return { group: named, recovery: recovery && !firing };
}

export const alertGroupId = (sender: string, group: string) =>
  `alert:${sha256(`${sender.toLowerCase()}\n${group}`).slice(0, 32)}`;
