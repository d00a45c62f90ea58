import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';
import type { Apply } from './apply';
import { CLOSURE_LABELS, closureGap } from '../ui/format';
import type { CaseDetail, ClosureRecord, FollowUp } from '../types';
import { ErrorText, Field, useAction } from '../ui/ui';
import { caseWrites } from '../writes';

const TEXTS = ['rootCause', 'vendorActions', 'accountChanges', 'lessons'] as const;

/** The closure record, with what the gate still needs, and the Close button. */
export function Closure({ c, apply }: { c: CaseDetail; apply: Apply }) {
  const [record, setRecord] = useState<ClosureRecord>(c.closure.record ?? {});
  const [refused, setRefused] = useState<string[]>();
  const act = useAction();
  useEffect(() => setRecord(c.closure.record ?? {}), [c.version]);

  const required = new Set(c.closure.required);
  const canClose = c.status !== 'Triage' && c.allowedStatuses.includes('Closed');
  const followUps = record.followUps ?? [];
  const setFollowUp = (i: number, patch: Partial<FollowUp>) =>
    setRecord({ ...record, followUps: followUps.map((f, j) => (j === i ? { ...f, ...patch } : f)) });

  /** Only what the member changed, so an untouched field is not written as blank. */
  const changes = () => {
    const saved = c.closure.record ?? {};
    const out: Record<string, unknown> = {};
    for (const f of TEXTS) if ((record[f] ?? '') !== (saved[f] ?? '')) out[f] = record[f] ?? '';
    if (JSON.stringify(record.followUps ?? []) !== JSON.stringify(saved.followUps ?? []))
      out.followUps = followUps;
    return out;
  };

  const send = (close: boolean) =>
    act.run(async () => {
      setRefused(undefined);
      const closure = changes();
      const body: Record<string, unknown> = close ? { status: 'Closed' } : {};
      if (Object.keys(closure).length) body.closure = closure;
      if (!Object.keys(body).length) return;
      try {
        await apply(caseWrites.patch(c, close ? 'Close' : 'Closure record', body));
      } catch (err) {
        if (err instanceof ApiError && Array.isArray(err.body.missing)) {
          setRefused(err.body.missing as string[]);
          return;
        }
        throw err;
      }
    });

  const missing = refused ?? c.closure.missing;
  return (
    <section class="card" aria-labelledby="closure-h">
      <h2 id="closure-h">Closure record</h2>
      <details open={canClose || c.status === 'Closed' || !!refused}>
        <summary>{canClose ? 'Fill in and close' : 'Fill in the closure record'}</summary>
        {missing.length ? (
          <p class="hint">Still needed to close: {missing.map(closureGap).join(', ')}.</p>
        ) : (
          <p class="hint">The closure record has everything this case needs.</p>
        )}
        {TEXTS.map((f) => (
          <Field
            key={f}
            label={CLOSURE_LABELS[f]!}
            value={record[f] ?? ''}
            onInput={(v) => setRecord({ ...record, [f]: v })}
            multiline
            required={required.has(f)}
          />
        ))}
        <fieldset class="followups">
          <legend>
            {CLOSURE_LABELS.followUps}
            {required.has('followUps') ? <span class="req"> (required)</span> : null}
          </legend>
          {followUps.map((f, i) => (
            <div class="followup" key={i} role="group" aria-label={`Follow-up ${i + 1}`}>
              <Field label={`Task ${i + 1}`} value={f.task} onInput={(v) => setFollowUp(i, { task: v })} />
              <div class="pair">
                <Field label="Owner" value={f.owner} onInput={(v) => setFollowUp(i, { owner: v })} />
                <Field label="Due" type="date" value={f.due} onInput={(v) => setFollowUp(i, { due: v })} />
              </div>
              <button
                type="button"
                class="secondary small"
                onClick={() => setRecord({ ...record, followUps: followUps.filter((_, j) => j !== i) })}
              >
                Remove follow-up {i + 1}
              </button>
            </div>
          ))}
          <button
            type="button"
            class="secondary"
            onClick={() =>
              setRecord({ ...record, followUps: [...followUps, { task: '', owner: '', due: '' }] })
            }
          >
            Add a follow-up
          </button>
        </fieldset>
        {refused ? (
          <div class="error" role="alert">
            <p>Not closed: the closure record still needs</p>
            <ul>
              {refused.map((m) => (
                <li key={m}>{closureGap(m)}</li>
              ))}
            </ul>
          </div>
        ) : null}
        <ErrorText error={act.error} />
        <div class="actions">
          <button type="button" class="secondary" disabled={act.busy} onClick={() => void send(false)}>
            Save closure record
          </button>
          {canClose ? (
            <button type="button" class="primary" disabled={act.busy} onClick={() => void send(true)}>
              Close case
            </button>
          ) : null}
        </div>
      </details>
    </section>
  );
}
