import { useEffect, useState } from 'preact/hooks';
import type { Apply } from './apply';
import { person } from '../ui/format';
import type { CaseDetail } from '../types';
import { ErrorText, Field, useAction } from '../ui/ui';
import { caseWrites } from '../writes';

type Kind = 'reply' | 'note' | 'vendor';

const KINDS: [Kind, string][] = [
  ['reply', 'Reply'],
  ['note', 'Note'],
  ['vendor', 'Vendor update'],
];

/** Reply to the reporter, add a note, or record what the vendor said: one form at the bottom. */
export function Compose({ c, apply }: { c: CaseDetail; apply: Apply }) {
  const [kind, setKind] = useState<Kind>('reply');
  const [text, setText] = useState('');
  const [vendor, setVendor] = useState(c.vendorContact?.organisation ?? '');
  const [reference, setReference] = useState(c.vendorContact?.ticket ?? '');
  const act = useAction();
  // A vendor contact saved meanwhile names the vendor and its ticket: offer them, unless typed over.
  useEffect(() => {
    if (!vendor) setVendor(c.vendorContact?.organisation ?? '');
    if (!reference) setReference(c.vendorContact?.ticket ?? '');
  }, [c.vendorContact?.organisation, c.vendorContact?.ticket]);

  const submit = (e: Event) => {
    e.preventDefault();
    if (!text.trim()) return act.setError('Write something first.');
    if (kind === 'vendor' && !vendor.trim()) return act.setError('Name the vendor.');
    const write =
      kind === 'reply'
        ? caseWrites.reply(c, text.trim())
        : kind === 'note'
          ? caseWrites.note(c, text.trim())
          : caseWrites.vendorUpdate(c, {
              vendor: vendor.trim(),
              reference: reference.trim() || undefined,
              text: text.trim(),
            });
    void act.run(async () => {
      await apply(write);
      setText('');
    });
  };

  const textLabel =
    kind === 'reply'
      ? `Reply to ${person(c.reporter) || 'the reporter'}`
      : kind === 'note'
        ? 'Note for the committee'
        : 'What the vendor said';
  return (
    <form class="card compose" onSubmit={submit} aria-labelledby="compose-h">
      <h2 id="compose-h">Write</h2>
      <fieldset class="segmented">
        <legend class="sr-only">What to write</legend>
        {KINDS.map(([k, label]) => (
          <label key={k} class={kind === k ? 'on' : ''}>
            <input
              type="radio"
              name="compose-kind"
              value={k}
              checked={kind === k}
              onChange={() => setKind(k)}
            />
            {label}
          </label>
        ))}
      </fieldset>
      {kind === 'vendor' ? (
        <div class="pair">
          <Field label="Vendor" value={vendor} onInput={setVendor} required />
          <Field label="Vendor's reference" value={reference} onInput={setReference} />
        </div>
      ) : null}
      <Field label={textLabel} value={text} onInput={setText} multiline required />
      {kind === 'reply' ? (
        <p class="hint">Sent by email from the desk's address, threaded with the case.</p>
      ) : null}
      <ErrorText error={act.error} />
      <button type="submit" class="primary" disabled={act.busy}>
        {kind === 'reply' ? 'Send reply' : kind === 'note' ? 'Add note' : 'Record vendor update'}
      </button>
    </form>
  );
}
