import { useState } from 'preact/hooks';
import { bytes, person, when } from '../ui/format';
import type { EmailEntry } from '../types';

/**
 * One email on the timeline. Its HTML is never put into the page: the desk's sanitised copy is
 * shown in a sandboxed iframe (no scripts, no same-origin), with remote images blocked until the
 * member asks for them. Plain text is shown as text, so every link shows its real target.
 */
export function EmailView(props: {
  caseKey: string;
  entryId: string;
  email: EmailEntry;
  at: string;
  /** Takes this email out into a case of its own. */
  onSplit?: () => void;
}) {
  const { email } = props;
  const [images, setImages] = useState(false);
  const incoming = email.direction === 'in';
  const from = person(email.from) || 'unknown sender';
  const src =
    `/api/cases/${encodeURIComponent(props.caseKey)}/timeline/${encodeURIComponent(props.entryId)}/html` +
    (images ? '?images=1' : '');
  return (
    <>
      <h3>{incoming ? `Email from ${from}` : `Email to ${email.to.map((a) => person(a)).join(', ')}`}</h3>
      <p class="meta">
        <time dateTime={props.at}>{when(email.date ?? props.at)}</time>
        {incoming ? null : ` · from ${from}`}
        {email.cc?.length ? ` · cc ${email.cc.map((a) => person(a)).join(', ')}` : ''}
      </p>
      <p class="chips">
        {incoming && email.verdict?.verdict === 'pass' ? <span class="badge ok">verified sender</span> : null}
        {incoming && email.verdict?.verdict === 'fail' ? (
          <span class="badge warn">sender failed checks</span>
        ) : null}
        {email.classification && email.classification.kind !== 'human' ? (
          <span class="chip">{email.classification.kind}</span>
        ) : null}
        {email.delivery ? <Delivery d={email.delivery} /> : null}
      </p>
      <p class="email-subject">{email.subject || '(no subject)'}</p>
      {email.html ? (
        <>
          <iframe
            class="email-html"
            sandbox="allow-popups allow-popups-to-escape-sandbox"
            referrerpolicy="no-referrer"
            loading="lazy"
            title={`Message from ${from}: ${email.subject || 'no subject'}`}
            src={src}
          />
          {email.blockedImages > 0 ? (
            <p class="images">
              <span>
                {images
                  ? `${email.blockedImages} remote image${email.blockedImages === 1 ? '' : 's'} loaded.`
                  : `${email.blockedImages} remote image${email.blockedImages === 1 ? '' : 's'} blocked.`}
              </span>
              {images ? null : (
                <button type="button" class="secondary small" onClick={() => setImages(true)}>
                  Load images
                </button>
              )}
            </p>
          ) : null}
          {email.text ? (
            <details>
              <summary>Plain text</summary>
              <p class="text">{email.text}</p>
            </details>
          ) : null}
        </>
      ) : (
        <p class="text">{email.text}</p>
      )}
      {email.attachments.length ? (
        <ul class="attachments" aria-label="Attachments">
          {email.attachments.map((a) => (
            <li key={a.sha256}>
              <a href={a.url} download={a.filename}>
                {a.filename}
              </a>{' '}
              <span class="muted small">{bytes(a.size)}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {props.onSplit ? (
        <p class="actions">
          <button type="button" class="secondary small" onClick={props.onSplit}>
            Split into a case of its own
          </button>
        </p>
      ) : null}
    </>
  );
}

function Delivery({ d }: { d: NonNullable<EmailEntry['delivery']> }) {
  const cls = d.state === 'sent' ? 'ok' : d.state === 'failed' ? 'warn' : 'pending';
  return (
    <span class={`badge ${cls}`} title={d.lastError}>
      {d.state === 'pending' ? 'sending' : d.state}
      {d.state === 'failed' && d.lastError ? `: ${d.lastError}` : ''}
    </span>
  );
}
