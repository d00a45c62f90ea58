import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import type { Apply } from './apply';
import { Closure } from './closure';
import { Compose } from './compose';
import { Conflicts } from './conflict';
import { Clocks } from './case-clocks';
import { BreachRecord, ReviewRecord } from './case-records';
import { Checklist, Indicators } from './case-work';
import { Timeline } from './case-timeline';
import { Triage } from './case-triage';
import { person } from '../ui/format';
import { pending, sent } from '../outbox';
import { conflicts, say, useCell } from '../store';
import { typeName, usePlaybook } from '../playbook';
import { statusLabel, type CaseDetail } from '../types';
import { ErrorText, Freshness, ScreenFrame, SenderBadge, useLoad } from '../ui/ui';
import { caseHref, go } from '../navigation';
import { caseWrites, casePath, writeCase } from '../writes';
import './case.css';

export function CaseScreen(props: { caseKey: string }) {
  const key = props.caseKey;
  const lastSent = useCell(sent);
  const loaded = useLoad(() => get<CaseDetail>(casePath(key)), [key]);
  const [c, setShown] = useState<CaseDetail>();
  // Never back in time: a read that left before a write answered (or the worker's cached copy, when
  // the network is slow) can arrive after it, with an older version of the case.
  const setCase = (next: CaseDetail | undefined) =>
    setShown((shown) =>
      next && shown && shown.key === next.key && shown.version > next.version ? shown : next,
    );
  useEffect(() => setCase(loaded.data), [loaded.data]);
  // A queued write of this case reached the desk: show the case as it is now.
  useEffect(() => {
    if (lastSent.caseKey === key) loaded.reload();
  }, [lastSent.n]);
  // A write was refused as stale: show the case as it is now, beside what was tried.
  const conflicted = useCell(conflicts).filter((x) => x.caseKey === key).length;
  useEffect(() => {
    if (conflicted) loaded.reload();
  }, [conflicted]);

  const apply: Apply = async (w) => {
    const result = await writeCase(w);
    if (result.state === 'done') {
      const body = result.body as (Partial<CaseDetail> & { splitFrom?: { key: string } }) | undefined;
      if (body?.splitFrom && body.key) {
        say(`${w.label}: done, ${body.key} opened.`);
        go(caseHref(body.key));
        return;
      }
      if (body && body.key === key && Array.isArray(body.timeline)) setCase(body as CaseDetail);
      else loaded.reload();
      say(`${w.label}: done.`);
    } else if (result.state === 'queued') {
      say(`${w.label}: pending, sent when the connection returns.`);
    } else {
      say(`${w.label} was not applied: the case changed meanwhile. Compare and decide below.`, 'error');
    }
  };

  const title = c ? c.key : key;
  return (
    <ScreenFrame
      title={title}
      sub={
        <p class="back">
          <a href="#/">Back to inbox</a>
        </p>
      }
    >
      <Freshness cachedAt={loaded.cachedAt} loading={loaded.loading} />
      <ErrorText error={loaded.error} />
      <Conflicts caseKey={key} apply={apply} />
      {c ? <CaseBody c={c} apply={apply} /> : null}
    </ScreenFrame>
  );
}

function CaseBody({ c, apply }: { c: CaseDetail; apply: Apply }) {
  const playbook = usePlaybook();
  return (
    <>
      <section class="case-head" aria-label="Summary">
        <p class="subject-line">{c.subject || '(no subject)'}</p>
        <p class="chips">
          <span class={`sev sev-${c.severity.toLowerCase()}`}>{c.severity}</span>
          <span class="chip" title={typeName(playbook, c.type)}>
            {c.type}
          </span>
          <span class="chip">{statusLabel(c.status)}</span>
          <SenderBadge verdict={c.senderVerdict} />
          {c.restricted ? <span class="badge warn">restricted</span> : null}
        </p>
        <dl class="facts">
          <dt>Reporter</dt>
          <dd>{person(c.reporter)}</dd>
          <dt>Owner</dt>
          <dd>{c.owner?.name ?? 'nobody yet'}</dd>
          {c.vendorContact ? (
            <>
              <dt>Vendor</dt>
              <dd>
                {[c.vendorContact.organisation, c.vendorContact.name, c.vendorContact.ticket]
                  .filter(Boolean)
                  .join(' · ')}
              </dd>
            </>
          ) : null}
        </dl>
      </section>
      <Pending caseKey={c.key} />
      <Clocks c={c} apply={apply} />
      <Triage c={c} apply={apply} />
      <Indicators c={c} />
      <Checklist c={c} apply={apply} />
      <BreachRecord c={c} apply={apply} />
      <ReviewRecord c={c} apply={apply} />
      <Timeline c={c} onSplit={(entryId) => void apply(caseWrites.split(c, entryId))} />
      <Closure c={c} apply={apply} />
      <Compose c={c} apply={apply} />
    </>
  );
}

/** Writes of this case still in the outbox. */
function Pending({ caseKey }: { caseKey: string }) {
  const queued = useCell(pending).filter((w) => w.caseKey === caseKey);
  if (!queued.length) return null;
  return (
    <section class="card pending-list" aria-labelledby="pending-h">
      <h2 id="pending-h">Pending ({queued.length})</h2>
      <p>Saved on this phone; sent in this order when the connection returns.</p>
      <ul>
        {queued.map((w) => (
          <li key={w.id}>
            <span class="badge pending">pending</span> {w.label}
            {typeof w.body.text === 'string' ? <q class="quote">{w.body.text}</q> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
