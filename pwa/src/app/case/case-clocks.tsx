import type { Apply } from './apply';
import { clockText, CLOCK_NAMES } from '../ui/clock-text';
import { useNow } from '../ui/clock-badge';
import { isUrgent, when } from '../ui/format';
import { usePlaybook } from '../playbook';
import type { CaseDetail } from '../types';
import { ErrorText, useAction } from '../ui/ui';
import { casePath, type CaseWrite } from '../writes';

/**
 * The case's clocks, each with its deadline and state in words, who took the page, and the
 * Acknowledge button while an urgent case's page is still untaken.
 */

/** Taking the page: no version needed, and repeating it changes nothing (server/clocks/records.ts). */
export const ackWrite = (c: CaseDetail): CaseWrite => ({
  caseKey: c.key,
  label: 'Acknowledge',
  method: 'POST',
  path: casePath(c.key, '/ack'),
  body: {},
});

export function Clocks({ c, apply }: { c: CaseDetail; apply: Apply }) {
  const now = useNow();
  const act = useAction();
  const playbook = usePlaybook();
  const urgent = playbook?.severities.find((s) => s.id === c.severity)?.urgent ?? isUrgent(c.severity);
  const clocks = c.clocks ?? [];
  const canAck = urgent && !c.acknowledged && c.status !== 'Closed';
  if (!clocks.length && !c.acknowledged && !canAck) return null;
  return (
    <section class="card" aria-labelledby="clocks-h">
      <h2 id="clocks-h">Clocks</h2>
      {clocks.length ? (
        <ul class="rows clocks">
          {clocks.map((k) => (
            <li key={k.kind}>
              <span>
                <strong>{CLOCK_NAMES[k.kind]}</strong>{' '}
                <span
                  class={k.state === 'breached' ? 'badge warn' : k.state === 'running' ? 'badge' : 'badge ok'}
                >
                  {clockText(k, now)}
                </span>
                <span class="muted small">
                  {' '}
                  {k.state === 'paused' ? 'due, if it ran again now,' : 'due'} {when(k.dueAt)}
                  {k.doneAt ? `; done ${when(k.doneAt)}` : ''}
                </span>
              </span>
            </li>
          ))}
        </ul>
      ) : null}
      {c.acknowledged ? (
        <p>
          Acknowledged by {c.acknowledged.by.name}
          {c.acknowledged.at ? ` at ${when(c.acknowledged.at)}` : ''}.
        </p>
      ) : null}
      <ErrorText error={act.error} />
      {canAck ? (
        <div class="actions">
          <button
            type="button"
            class="primary"
            disabled={act.busy}
            aria-describedby="ack-hint"
            onClick={() => void act.run(() => apply(ackWrite(c)))}
          >
            Acknowledge
          </button>
        </div>
      ) : null}
      {canAck ? (
        <p class="hint" id="ack-hint">
          Take the page: paging stops, and the response time is met.
        </p>
      ) : null}
    </section>
  );
}
