import { useEffect, useState } from 'preact/hooks';
import type { Apply } from './apply';
import { me, useCell } from '../store';
import { severityOptions, typeName, typeOptions, usePlaybook } from '../playbook';
import { statusLabel, type CaseDetail, type VendorContact } from '../types';
import { ErrorText, Field, Select, useAction } from '../ui/ui';
import { caseWrites } from '../writes';

/** The decision beside the suggestion, ownership, the next statuses, and the missing fields. */
export function Triage({ c, apply }: { c: CaseDetail; apply: Apply }) {
  const who = useCell(me);
  const [type, setType] = useState(c.type);
  const [severity, setSeverity] = useState<string>(c.severity);
  const [reason, setReason] = useState('');
  const act = useAction();
  useEffect(() => {
    setType(c.type);
    setSeverity(c.severity);
  }, [c.type, c.severity]);
  // A reason given for one move (closing, reopening) is not offered again for the next.
  useEffect(() => setReason(''), [c.status]);

  const playbook = usePlaybook();
  const patch = (label: string, body: Record<string, unknown>) =>
    act.run(() => apply(caseWrites.patch(c, label, body)));
  const confirm = () =>
    patch(`Type ${type}, severity ${severity}`, {
      type,
      severity,
      // Confirming a new case's type and severity is what triage starts with.
      ...(c.status === 'New' && c.allowedStatuses.includes('Triage') ? { status: 'Triage' } : {}),
    });
  const moves = c.allowedStatuses.filter((s) => s !== 'Closed');
  const closeAsNotACase = c.status === 'Triage' && c.allowedStatuses.includes('Closed');

  return (
    <section class="card" aria-labelledby="triage-h">
      <h2 id="triage-h">Triage</h2>
      <div class="suggestion">
        <p>
          <strong>Suggested:</strong> {c.suggestion.type} ({typeName(playbook, c.suggestion.type)}),{' '}
          {c.suggestion.severity}
        </p>
        {c.suggestion.reasons.length ? (
          <details>
            <summary>Why</summary>
            <ul>
              {c.suggestion.reasons.map((r, i) => (
                <li key={i}>{r}</li>
              ))}
            </ul>
          </details>
        ) : null}
      </div>
      <div class="pair">
        <Select label="Type" value={type} options={typeOptions(playbook, c.type)} onChange={setType} />
        <Select
          label="Severity"
          value={severity}
          options={severityOptions(playbook)}
          onChange={setSeverity}
        />
      </div>
      <div class="actions">
        <button type="button" class="primary" onClick={confirm} disabled={act.busy}>
          Confirm type and severity
        </button>
        {who && c.owner?.id !== who.id ? (
          <button
            type="button"
            class="secondary"
            disabled={act.busy}
            onClick={() => patch('Take ownership', { owner: who.id })}
          >
            Take ownership
          </button>
        ) : null}
      </div>
      <h3 id="status-h">Status: {statusLabel(c.status)}</h3>
      {c.history && c.status === 'Closed' ? (
        <p class="hint">
          Imported history: this message was already in the mailbox when Tocsin first read it, so it was filed
          closed, with no acknowledgement or page. Reopen it to work it as a new report.
        </p>
      ) : null}
      {c.alert ? (
        <p class="hint">
          Monitoring alert: a monitoring system sent this, so nobody was answered. Repeats of the alert join
          this case while it is open; when the alert reports recovery, a notice below suggests moving it to
          Monitoring.
        </p>
      ) : null}
      {c.storm ? (
        <p class="hint">
          Storm: {c.storm.sender} sent more than five new reports within an hour, so their further mail of
          this hour ({c.storm.messages} {c.storm.messages === 1 ? 'message' : 'messages'}) is collected here.
          A report that suggests SEV1 or SEV2 still opens its own case; split any other message below into a
          case of its own.
        </p>
      ) : null}
      {c.allowedStatuses.includes('Closed') && !closeAsNotACase ? (
        <p class="hint">To close it, complete the closure record below.</p>
      ) : null}
      {moves.length ? (
        <div class="actions" role="group" aria-labelledby="status-h">
          {moves.map((s) => (
            <button
              key={s}
              type="button"
              class="secondary"
              disabled={act.busy}
              onClick={() => patch(`Status: ${statusLabel(s)}`, { status: s })}
            >
              Move to {statusLabel(s)}
            </button>
          ))}
        </div>
      ) : null}
      {closeAsNotACase || c.status === 'Closed' ? (
        <div class="inline-form">
          <Field
            label={c.status === 'Closed' ? 'Why reopen it' : 'Why it is not a case (spam, a duplicate…)'}
            value={reason}
            onInput={setReason}
          />
          <button
            type="button"
            class="secondary"
            disabled={act.busy || !reason.trim()}
            onClick={() =>
              c.status === 'Closed'
                ? patch('Reopen', { status: c.reopenTo ?? 'Triage', reason: reason.trim() })
                : patch('Close as not a case', { status: 'Closed', reason: reason.trim() })
            }
          >
            {c.status === 'Closed' ? 'Reopen' : 'Close as not a case'}
          </button>
        </div>
      ) : null}
      <ErrorText error={act.error} />
      <MissingFields c={c} apply={apply} />
      <VendorContactForm c={c} apply={apply} />
    </section>
  );
}

function MissingFields({ c, apply }: { c: CaseDetail; apply: Apply }) {
  const [values, setValues] = useState<Record<string, string>>({});
  const act = useAction();
  if (!c.missingFields.length) return null;
  const save = (e: Event) => {
    e.preventDefault();
    const fields = Object.fromEntries(Object.entries(values).filter(([, v]) => v.trim()));
    if (!Object.keys(fields).length) return act.setError('Fill in at least one field.');
    void act.run(async () => {
      await apply(caseWrites.patch(c, 'Required information', { fields }));
      setValues({});
    });
  };
  return (
    <form onSubmit={save} aria-labelledby="missing-h">
      <h3 id="missing-h">Required information still missing</h3>
      {c.missingFields.map((f) => (
        <Field
          key={f.id}
          label={f.label}
          value={values[f.id] ?? ''}
          onInput={(v) => setValues({ ...values, [f.id]: v })}
        />
      ))}
      <ErrorText error={act.error} />
      <button type="submit" class="secondary" disabled={act.busy}>
        Save the information
      </button>
    </form>
  );
}

const VENDOR_FIELDS: [keyof VendorContact, string, string][] = [
  ['organisation', 'Vendor organisation', 'organization'],
  ['name', 'Contact name', 'name'],
  ['email', 'Contact email', 'email'],
  ['phone', 'Contact phone', 'tel'],
  ['ticket', 'Vendor ticket', 'off'],
];

function VendorContactForm({ c, apply }: { c: CaseDetail; apply: Apply }) {
  const [v, setV] = useState<VendorContact>(c.vendorContact ?? {});
  const act = useAction();
  useEffect(() => setV(c.vendorContact ?? {}), [c.version]);
  const save = (e: Event) => {
    e.preventDefault();
    const contact = Object.fromEntries(
      Object.entries(v).filter(([, x]) => typeof x === 'string' && x.trim()),
    );
    if (!Object.keys(contact).length) return act.setError('Name the vendor contact.');
    void act.run(() => apply(caseWrites.patch(c, 'Vendor contact', { vendorContact: contact })));
  };
  return (
    <details class="sub">
      <summary>Vendor contact{c.vendorContact ? '' : ' (none yet)'}</summary>
      <form onSubmit={save} aria-label="Vendor contact">
        {VENDOR_FIELDS.map(([k, label, ac]) => (
          <Field
            key={k}
            label={label}
            type={k === 'email' ? 'email' : k === 'phone' ? 'tel' : 'text'}
            autocomplete={ac}
            value={v[k] ?? ''}
            onInput={(x) => setV({ ...v, [k]: x })}
          />
        ))}
        <ErrorText error={act.error} />
        <button type="submit" class="secondary" disabled={act.busy}>
          Save vendor contact
        </button>
      </form>
    </details>
  );
}
