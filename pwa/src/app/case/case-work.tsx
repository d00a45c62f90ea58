import { useState } from 'preact/hooks';
import type { Apply } from './apply';
import { when } from '../ui/format';
import { pending } from '../outbox';
import { useCell } from '../store';
import type { CaseDetail, ChecklistItem } from '../types';
import { ErrorText, useAction } from '../ui/ui';
import { caseWrites } from '../writes';

/** The case type's checklist, by section, each item a big toggle. */
export function Checklist({ c, apply }: { c: CaseDetail; apply: Apply }) {
  const act = useAction();
  // What the member just asked for, shown while the write is on its way.
  const [asked, setAsked] = useState<Record<string, boolean>>({});
  const queued = useCell(pending).filter((w) => w.caseKey === c.key && w.method === 'PUT');
  if (!c.checklist.length) return null;
  const sections: [string, ChecklistItem[]][] = [];
  for (const item of c.checklist) {
    const name = item.section ?? '';
    const last = sections[sections.length - 1];
    if (last && last[0] === name) last[1].push(item);
    else sections.push([name, [item]]);
  }
  const done = c.checklist.filter((i) => i.done).length;
  return (
    <section class="card" aria-labelledby="checklist-h">
      <h2 id="checklist-h">
        Checklist{' '}
        <span class="count">
          {done} of {c.checklist.length} done
        </span>
      </h2>
      <ErrorText error={act.error} />
      {sections.map(([name, items]) => (
        <fieldset key={name || 'steps'} class="checklist">
          <legend class={name ? '' : 'sr-only'}>{name || 'Steps'}</legend>
          {items.map((item) => {
            const waiting = queued.find((w) => w.path.endsWith(`/checklist/${encodeURIComponent(item.id)}`));
            const checked = asked[item.id] ?? (waiting ? Boolean(waiting.body.done) : item.done);
            const toggle = () => {
              setAsked((a) => ({ ...a, [item.id]: !checked }));
              void act
                .run(() => apply(caseWrites.checklist(c, item, !checked)))
                .finally(() =>
                  setAsked((a) => {
                    const rest = { ...a };
                    delete rest[item.id];
                    return rest;
                  }),
                );
            };
            return (
              <label key={item.id} class="check">
                <input type="checkbox" checked={checked} disabled={act.busy} onChange={toggle} />
                <span>
                  {item.label}
                  {waiting ? <span class="badge pending">pending</span> : null}
                  {item.done && item.by && !waiting ? (
                    <span class="muted small">
                      {' '}
                      · {item.by.name}, {when(item.at)}
                    </span>
                  ) : null}
                </span>
              </label>
            );
          })}
        </fieldset>
      ))}
    </section>
  );
}

/** Indicators from phishing reports: defanged, as plain text, never links. */
export function Indicators({ c }: { c: CaseDetail }) {
  if (!c.indicators.length) return null;
  return (
    <section class="card" aria-labelledby="ind-h">
      <h2 id="ind-h">Indicators</h2>
      <p class="hint">Shown defanged; copy them into your tools, do not open them.</p>
      <ul class="indicators">
        {c.indicators.map((i) => (
          <li key={`${i.type}:${i.value}`}>
            <span class="chip">{i.type}</span> <code class="defanged">{i.display}</code>
            {i.reports > 1 ? <span class="muted small"> · in {i.reports} reports</span> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
