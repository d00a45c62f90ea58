import { useEffect, useState } from 'preact/hooks';
import { get, type Answer } from '../api';
import { CaseList } from '../ui/case-list';
import { urgentFirst } from '../ui/format';
import { sent } from '../outbox';
import { PasskeyOffer } from './passkey-offer';
import { useCell } from '../store';
import type { CaseSummary } from '../types';
import { ErrorText, Freshness, ScreenFrame, useLoad } from '../ui/ui';

type Page = { cases: CaseSummary[]; next: number | null };

/** New and Triage cases, urgent first: what needs a decision now. */
async function loadInbox(): Promise<Answer<CaseSummary[]>> {
  const [fresh, triage] = await Promise.all(
    ['New', 'Triage'].map((s) => get<Page>(`/api/cases?status=${s}&limit=200`)),
  );
  const oldest = [fresh!.cachedAt, triage!.cachedAt]
    .filter((d): d is Date => !!d)
    .sort((a, b) => a.getTime() - b.getTime())[0];
  return {
    status: 200,
    body: urgentFirst([...fresh!.body.cases, ...triage!.body.cases]),
    cachedAt: oldest,
  };
}

/** Whether mail intake runs (from the public /readyz), so an empty inbox is not misread. */
function useIntake(): string | undefined {
  const [line, setLine] = useState<string>();
  useEffect(() => {
    fetch('/readyz')
      .then((r) => r.json() as Promise<{ mailbox?: { state?: string } }>)
      .then((r) => {
        if (r.mailbox?.state === 'off')
          setLine('Mail intake is off: no mailbox is configured, so no new cases arrive by email.');
        else if (r.mailbox?.state === 'backoff')
          setLine('The mailbox is not reachable right now; the desk keeps trying.');
      })
      .catch(() => undefined);
  }, []);
  return line;
}

export function Inbox() {
  const queued = useCell(sent);
  const inbox = useLoad(loadInbox, [queued.n]);
  const intake = useIntake();
  return (
    <ScreenFrame title="Inbox" sub={<p class="lead">New and triage cases, urgent first.</p>}>
      <PasskeyOffer />
      {intake ? <p class="notice">{intake}</p> : null}
      <Freshness cachedAt={inbox.cachedAt} loading={inbox.loading} />
      <ErrorText error={inbox.error} />
      {inbox.data ? <CaseList cases={inbox.data} empty="Nothing waits for triage." /> : null}
      <div class="actions">
        <button type="button" class="secondary" onClick={inbox.reload} disabled={inbox.loading}>
          Refresh
        </button>
      </div>
    </ScreenFrame>
  );
}
