import { ClockBadge, hasClockLine } from './clock-badge';
import { age, isUrgent } from './format';
import { caseHref } from '../navigation';
import { pending } from '../outbox';
import { useCell } from '../store';
import { SenderBadge } from './ui';
import { statusLabel, type CaseSummary } from '../types';

/** Cases as a list of big rows, each a link to the case. */
export function CaseList(props: { cases: CaseSummary[]; empty: string; showStatus?: boolean }) {
  const queued = useCell(pending);
  if (!props.cases.length) return <p class="empty">{props.empty}</p>;
  return (
    <ul class="cases">
      {props.cases.map((c) => {
        const waiting = queued.filter((w) => w.caseKey === c.key).length;
        return (
          <li key={c.key}>
            <a href={caseHref(c.key)} class={isUrgent(c.severity) ? 'case-row urgent' : 'case-row'}>
              <span class="row-top">
                <strong class="key">{c.key}</strong>
                <span class={`sev sev-${c.severity.toLowerCase()}`}>{c.severity}</span>
                <span class="chip">{c.type}</span>
                {props.showStatus ? <span class="chip">{statusLabel(c.status)}</span> : null}
                <span class="age">
                  <span class="sr-only">age </span>
                  {age(c.createdAt)}
                </span>
              </span>
              {c.hidden ? (
                <span class="subject muted">restricted</span>
              ) : (
                <span class="subject">{c.subject || '(no subject)'}</span>
              )}
              {(c.senderVerdict && c.senderVerdict !== 'none') ||
              waiting ||
              hasClockLine(c) ||
              c.storm ||
              c.alert ? (
                <span class="row-bottom">
                  {c.storm ? (
                    <span class="badge warn">
                      Storm · {c.storm.messages} {c.storm.messages === 1 ? 'message' : 'messages'}
                    </span>
                  ) : null}
                  {c.alert ? <span class="badge">Monitoring alert</span> : null}
                  <ClockBadge c={c} />
                  <SenderBadge verdict={c.senderVerdict} />
                  {waiting ? <span class="badge pending">{waiting} pending</span> : null}
                </span>
              ) : null}
            </a>
          </li>
        );
      })}
    </ul>
  );
}
