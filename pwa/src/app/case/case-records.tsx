import { useEffect, useState } from 'preact/hooks';
import type { Apply } from './apply';
import { when } from '../ui/format';
import type { CaseDetail } from '../types';
import { ErrorText, Field, useAction } from '../ui/ui';
import { casePath } from '../writes';

/**
 * The records kept against the clocks: the personal-data breach record (GDPR Art. 33: when the
 * committee became aware, and when the authority was notified, with the reasons when that was
 * more than 72 hours later) and the post-incident review, with a link to it.
 */

const pad = (n: number) => String(n).padStart(2, '0');

/** An ISO time as a datetime-local input's value, in this phone's time zone. */
function localInput(iso: string | undefined | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local value as ISO 8601, or undefined when empty or not a time. */
function isoOf(local: string): string | undefined {
  const t = local ? new Date(local).getTime() : NaN;
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

export function BreachRecord({ c, apply }: { c: CaseDetail; apply: Apply }) {
  const b = c.breach;
  const initial = () => ({
    awareAt: localInput(b?.awareAt),
    at: localInput(b?.authorityNotified?.at),
    reference: b?.authorityNotified?.reference ?? '',
    reason: b?.authorityNotified?.reason ?? '',
  });
  const [form, setForm] = useState(initial);
  useEffect(() => setForm(initial()), [c.version]);
  const act = useAction();
  if (!b) return null;
  const set = (k: keyof typeof form) => (v: string) => setForm({ ...form, [k]: v });
  const deadline = c.clocks?.find((k) => k.kind === 'breach')?.dueAt;
  const notifiedAt = isoOf(form.at);
  const late = !!(notifiedAt && deadline && Date.parse(notifiedAt) > Date.parse(deadline));
  const notified = b.authorityNotified;

  const submit = (e: Event) => {
    e.preventDefault();
    const body: Record<string, unknown> = { version: c.version };
    if (form.awareAt !== localInput(b.awareAt)) body.awareAt = isoOf(form.awareAt);
    if (notifiedAt && form.reference.trim())
      body.authorityNotified = {
        at: notifiedAt,
        reference: form.reference.trim(),
        ...(form.reason.trim() ? { reason: form.reason.trim() } : {}),
      };
    void act.run(() =>
      apply({
        caseKey: c.key,
        label: 'Breach record',
        method: 'PUT',
        path: casePath(c.key, '/breach'),
        body,
      }),
    );
  };

  return (
    <section class="card" aria-labelledby="breach-h">
      <h2 id="breach-h">Personal-data breach record</h2>
      <dl class="facts">
        <dt>Aware since</dt>
        <dd>{when(b.awareAt)}</dd>
        <dt>Authority notified</dt>
        <dd>
          {notified
            ? `${when(notified.at)}, reference ${notified.reference}${notified.by ? `, by ${notified.by.name}` : ''}`
            : deadline
              ? `not yet (due by ${when(deadline)})`
              : 'not yet'}
        </dd>
        {notified?.reason ? (
          <>
            <dt>Reasons for the delay</dt>
            <dd>{notified.reason}</dd>
          </>
        ) : null}
      </dl>
      <form onSubmit={submit} aria-label="Breach record">
        <Field label="Became aware at" type="datetime-local" value={form.awareAt} onInput={set('awareAt')} />
        <div class="pair">
          <Field label="Authority notified at" type="datetime-local" value={form.at} onInput={set('at')} />
          <Field label="Authority’s reference" value={form.reference} onInput={set('reference')} />
        </div>
        {/* Not `required`: the desk says why it refuses, which a browser's bubble would not. */}
        <Field
          label="Reasons for notifying after 72 hours"
          multiline
          value={form.reason}
          onInput={set('reason')}
          hint={
            late
              ? 'Required: the notification came more than 72 hours after awareness, and GDPR Art. 33(1) asks for the reasons.'
              : 'Needed only when the authority is notified more than 72 hours after awareness.'
          }
        />
        <ErrorText error={act.error} />
        <button type="submit" class="secondary" disabled={act.busy}>
          Save breach record
        </button>
      </form>
    </section>
  );
}

const isWebLink = (s: string) => /^https?:\/\/\S+$/i.test(s);

export function ReviewRecord({ c, apply }: { c: CaseDetail; apply: Apply }) {
  const [link, setLink] = useState(c.review?.link ?? '');
  // Follows the link stored, not every new version: a change by someone else (an alert recorded,
  // a note) must not wipe a link being typed.
  useEffect(() => setLink(c.review?.link ?? ''), [c.review?.link]);
  const act = useAction();
  if (!c.review && !c.clocks?.some((k) => k.kind === 'review')) return null;
  const submit = (e: Event) => {
    e.preventDefault();
    void act.run(() =>
      apply({
        caseKey: c.key,
        label: 'Post-incident review',
        method: 'PUT',
        path: casePath(c.key, '/review'),
        body: { version: c.version, link: link.trim() },
      }),
    );
  };
  const r = c.review;
  return (
    <section class="card" aria-labelledby="review-h">
      <h2 id="review-h">Post-incident review</h2>
      {r ? (
        <p>
          Done {when(r.at)}
          {r.by ? ` by ${r.by.name}` : ''}:{' '}
          {isWebLink(r.link) ? (
            <a href={r.link} target="_blank" rel="noopener noreferrer">
              {r.link}
            </a>
          ) : (
            r.link
          )}
        </p>
      ) : (
        <p>Not recorded yet.</p>
      )}
      <form onSubmit={submit} aria-label="Post-incident review">
        <Field label="Link to the review" required value={link} onInput={setLink} />
        <ErrorText error={act.error} />
        <button type="submit" class="secondary" disabled={act.busy || !link.trim()}>
          Record the review
        </button>
      </form>
    </section>
  );
}
