import { alertName } from '../../sw/notify';
import { EmailView } from './email';
import { CLOSURE_LABELS, shown, when } from '../ui/format';
import type { JSX } from 'preact';
import type { AlertEntry, CaseDetail, TimelineEntry } from '../types';

/** The case's story, oldest first: mail in and out, notes, changes, vendor updates, ticks, alerts. */
export function Timeline({ c, onSplit }: { c: CaseDetail; onSplit?: (entryId: string) => void }) {
  // The first received email opened the case and stays, unless the case only holds a storm.
  const opening = c.storm
    ? undefined
    : c.timeline.find((e) => e.kind === 'email' && e.email?.direction === 'in')?.id;
  return (
    <section class="card" aria-labelledby="timeline-h">
      <h2 id="timeline-h">Timeline</h2>
      <ol class="timeline">
        {c.timeline.map((e) => (
          <li key={e.id} class={`entry entry-${e.kind}`}>
            <Entry c={c} e={e} onSplit={onSplit && e.id !== opening ? onSplit : undefined} />
          </li>
        ))}
      </ol>
    </section>
  );
}

const fieldName = (f: string) =>
  f.startsWith('closure.')
    ? `Closure: ${CLOSURE_LABELS[f.slice(8)] ?? f.slice(8)}`
    : f.startsWith('fields.')
      ? f.slice(7)
      : f;

function Entry({ c, e, onSplit }: { c: CaseDetail; e: TimelineEntry; onSplit?: (entryId: string) => void }) {
  const meta = (
    <p class="meta">
      <time dateTime={e.at}>{when(e.at)}</time>
      {e.by ? ` · ${e.by.name}` : ''}
    </p>
  );
  // Every entry read back from the database carries an (empty) email part: only kind tells.
  if (e.kind === 'email' && e.email)
    return (
      <EmailView
        caseKey={c.key}
        entryId={e.id}
        email={e.email}
        at={e.at}
        onSplit={onSplit && e.email.direction === 'in' ? () => onSplit(e.id) : undefined}
      />
    );
  if (e.kind === 'note' && e.note)
    return (
      <>
        <h3>Note</h3>
        {meta}
        <p class="text">{e.note.text}</p>
      </>
    );
  if (e.kind === 'change' && e.change)
    return (
      <>
        <h3>Changed</h3>
        {meta}
        <ul class="changes">
          {e.change.changes.map((ch, i) => (
            <li key={i}>
              {fieldName(ch.field)}: {shown(ch.from)} → {shown(ch.to)}
            </li>
          ))}
        </ul>
        {e.change.reason ? <p class="text">Reason: {e.change.reason}</p> : null}
      </>
    );
  if (e.kind === 'vendor-update' && e.vendorUpdate)
    return (
      <>
        <h3>
          Vendor update: {e.vendorUpdate.vendor}
          {e.vendorUpdate.reference ? ` (${e.vendorUpdate.reference})` : ''}
        </h3>
        {meta}
        <p class="text">{e.vendorUpdate.text}</p>
      </>
    );
  if (e.kind === 'checklist' && e.checklist)
    return (
      <>
        <h3>{e.checklist.done ? 'Ticked' : 'Unticked'}</h3>
        {meta}
        <p class="text">{e.checklist.label}</p>
      </>
    );
  if (e.kind === 'acknowledged')
    return (
      <>
        <h3>Acknowledged</h3>
        {meta}
        <p class="text">{e.by ? `${e.by.name} took the page.` : 'The page was taken.'}</p>
      </>
    );
  if (e.kind === 'alert' && e.alert) return <AlertEntryView alert={e.alert} meta={meta} />;
  return (
    <>
      <h3>{e.notice ? 'Notice' : e.kind}</h3>
      {meta}
      {e.notice ? <p class="text">{e.notice.message}</p> : null}
    </>
  );
}

/** A push alert: whom it went to, who has no device to reach, and how the devices took it. */
function AlertEntryView({ alert, meta }: { alert: AlertEntry; meta: JSX.Element }) {
  const names = (people: { name: string }[]) => people.map((p) => p.name).join(', ');
  const counts = new Map<string, number>();
  for (const r of alert.results ?? []) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  const devices = [...counts].map(([outcome, n]) => `${n} ${outcome}`).join(', ');
  return (
    <>
      <h3>Alert: {alertName(alert.kind)}</h3>
      {meta}
      <p class="text">
        Pushed to {alert.recipients?.length ? names(alert.recipients) : 'nobody'}
        {devices ? `; devices: ${devices}` : '; no device reached'}.
      </p>
      {alert.unreachable?.length ? <p class="text">No device reached: {names(alert.unreachable)}.</p> : null}
    </>
  );
}
