import { useEffect, useRef } from 'preact/hooks';
import type { Apply } from './apply';
import { shown, when } from '../ui/format';
import { dropConflict } from '../outbox';
import { conflicts, useCell, type Conflict } from '../store';
import { statusLabel } from '../types';
import { ErrorText, useAction } from '../ui/ui';

/**
 * Writes the desk refused because the case had changed (412): what the member tried beside what
 * the case says now. They re-apply theirs on top of the new version, or discard it.
 */
export function Conflicts({ caseKey, apply }: { caseKey: string; apply: Apply }) {
  const mine = useCell(conflicts).filter((c) => c.caseKey === caseKey);
  const heading = useRef<HTMLHeadingElement>(null);
  // The member pressed a button further down: bring them to the decision.
  useEffect(() => {
    if (!mine.length) return;
    heading.current?.scrollIntoView({ block: 'start' });
    heading.current?.focus();
  }, [mine.length]);
  if (!mine.length) return null;
  return (
    <section class="card conflict" aria-labelledby="conflict-h">
      <h2 id="conflict-h" ref={heading} tabIndex={-1}>
        Changed by someone else
      </h2>
      <p>
        The case changed after you last saw it, so{' '}
        {mine.length === 1 ? 'this change was' : 'these changes were'} not applied. Compare, then apply yours
        again or discard it.
      </p>
      {mine.map((c) => (
        <OneConflict key={c.id} conflict={c} apply={apply} />
      ))}
    </section>
  );
}

const SHOWN_NOW = ['status', 'type', 'severity', 'owner', 'vendorContact'];
const LABELS: Record<string, string> = {
  text: 'Text',
  status: 'Status',
  type: 'Type',
  severity: 'Severity',
  owner: 'Owner',
  vendorContact: 'Vendor contact',
  fields: 'Information',
  closure: 'Closure record',
  done: 'Ticked',
  vendor: 'Vendor',
  reference: 'Reference',
  reason: 'Reason',
};

function OneConflict({ conflict, apply }: { conflict: Conflict; apply: Apply }) {
  const act = useAction();
  const now = conflict.current;
  const tried = Object.entries(conflict.body).filter(([k]) => k !== 'version');
  const triedKeys = new Set(tried.map(([k]) => k));
  const context = SHOWN_NOW.filter((k) => !triedKeys.has(k));
  const reapply = () =>
    act.run(async () => {
      await dropConflict(conflict.id);
      await apply({
        caseKey: conflict.caseKey,
        label: conflict.label,
        method: conflict.method as 'PATCH',
        path: conflict.path,
        body: { ...conflict.body, version: now.version },
      });
    });
  const value = (k: string, v: unknown) => (k === 'status' ? statusLabel(String(v)) : shown(v));
  return (
    <div class="conflict-one">
      <h3>{conflict.label}</h3>
      <table class="compare">
        <caption class="sr-only">Your change beside the case now</caption>
        <thead>
          <tr>
            <th scope="col">Field</th>
            <th scope="col">You tried</th>
            <th scope="col">The case now</th>
          </tr>
        </thead>
        <tbody>
          {tried.map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{LABELS[k] ?? k}</th>
              <td>{value(k, v)}</td>
              <td>{k in now ? value(k, now[k]) : now.hidden ? 'restricted' : '—'}</td>
            </tr>
          ))}
          {context.map((k) => (
            <tr key={k} class="context">
              <th scope="row">{LABELS[k] ?? k}</th>
              <td>—</td>
              <td>{value(k, now[k])}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted small">
        The case is at version {now.version}, updated {when(now.updatedAt)}.
      </p>
      <ErrorText error={act.error} />
      <div class="actions">
        <button type="button" class="primary" disabled={act.busy} onClick={() => void reapply()}>
          Apply mine again
        </button>
        <button
          type="button"
          class="secondary"
          disabled={act.busy}
          onClick={() => void act.run(() => dropConflict(conflict.id))}
        >
          Discard mine
        </button>
      </div>
    </div>
  );
}
