import { useEffect, useRef, useState } from 'preact/hooks';
import { get } from '../api';
import { CaseList } from '../ui/case-list';
import { go } from '../navigation';
import { severityOptions, typeOptions, usePlaybook } from '../playbook';
import { STATUSES, statusLabel, type CaseSummary } from '../types';
import { ErrorText, Field, Freshness, ScreenFrame, Select, useLoad } from '../ui/ui';

const PAGE = 25;
const FILTERS = [
  'q',
  'sla',
  'type',
  'severity',
  'status',
  'service',
  'owner',
  'vendor',
  'from',
  'to',
] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

const any = (label: string, options: [string, string][]): [string, string][] => [['', label], ...options];

/** The case register: every case, filtered, a page at a time, and the same list as CSV. */
export function Register(props: { query: URLSearchParams }) {
  const applied: Filters = {};
  for (const f of FILTERS) {
    const v = props.query.get(f);
    if (v) applied[f] = v;
  }
  const offset = Math.max(0, Number(props.query.get('offset')) || 0);
  const filterQuery = new URLSearchParams(applied as Record<string, string>).toString();
  const [form, setForm] = useState<Filters>(applied);
  const playbook = usePlaybook();
  const list = useLoad(
    () =>
      get<{ cases: CaseSummary[]; next: number | null }>(
        `/api/cases?${filterQuery}${filterQuery ? '&' : ''}limit=${PAGE}&offset=${offset}`,
      ),
    [filterQuery, offset],
  );
  // After Previous or Next page, the new page's first case takes the focus: on a phone the list
  // would otherwise stay scrolled to its end, at the buttons, and a screen reader would hear nothing.
  const results = useRef<HTMLDivElement>(null);
  const paged = useRef(false);
  useEffect(() => {
    if (!paged.current || list.loading) return;
    paged.current = false;
    results.current?.querySelector('a')?.focus();
  }, [list.loading]);
  const set = (k: keyof Filters) => (v: string) => setForm({ ...form, [k]: v });
  const to = (filters: Filters, at = 0) => {
    const q = new URLSearchParams(Object.entries(filters).filter(([, v]) => v) as [string, string][]);
    if (at) q.set('offset', String(at));
    go(`#/register${q.toString() ? `?${q}` : ''}`);
  };
  const turn = (at: number) => {
    paged.current = true;
    to(applied, at);
  };
  const submit = (e: Event) => {
    e.preventDefault();
    to(form);
  };

  return (
    <ScreenFrame title="Register">
      <form class="card filters" onSubmit={submit} aria-label="Filters" role="search">
        <Field
          label="Search key, subject or reporter"
          type="search"
          value={form.q ?? ''}
          onInput={set('q')}
        />
        <label class="check">
          <input
            type="checkbox"
            checked={form.sla === 'breached'}
            onChange={(e) => set('sla')((e.currentTarget as HTMLInputElement).checked ? 'breached' : '')}
          />
          <span>SLA breached only (a response, update, breach or review deadline passed)</span>
        </label>
        <details open={Object.keys(applied).some((k) => k !== 'q' && k !== 'sla')}>
          <summary>More filters</summary>
          <div class="pair">
            <Select
              label="Type"
              value={form.type ?? ''}
              options={any('Any type', typeOptions(playbook, form.type))}
              onChange={set('type')}
            />
            <Select
              label="Severity"
              value={form.severity ?? ''}
              options={any('Any severity', severityOptions(playbook))}
              onChange={set('severity')}
            />
          </div>
          <div class="pair">
            <Select
              label="Status"
              value={form.status ?? ''}
              options={any(
                'Any status',
                STATUSES.map((s) => [s, statusLabel(s)]),
              )}
              onChange={set('status')}
            />
            <Select
              label="Owner"
              value={form.owner ?? ''}
              options={any('Anyone', [
                ['me', 'Me'],
                ['none', 'Nobody'],
              ])}
              onChange={set('owner')}
            />
          </div>
          <div class="pair">
            <Field label="Service" value={form.service ?? ''} onInput={set('service')} />
            <Select
              label="Vendor involved"
              value={form.vendor ?? ''}
              options={any('Either', [
                ['yes', 'Yes'],
                ['no', 'No'],
              ])}
              onChange={set('vendor')}
            />
          </div>
          <div class="pair">
            <Field label="Created from" type="date" value={form.from ?? ''} onInput={set('from')} />
            <Field label="Created to" type="date" value={form.to ?? ''} onInput={set('to')} />
          </div>
        </details>
        <div class="actions">
          <button type="submit" class="primary">
            Show cases
          </button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setForm({});
              to({});
            }}
          >
            Clear filters
          </button>
        </div>
      </form>
      <p class="export">
        <a href={`/api/cases.csv${filterQuery ? `?${filterQuery}` : ''}`} download>
          Export these cases as CSV
        </a>
      </p>
      <Freshness cachedAt={list.cachedAt} loading={list.loading} />
      <ErrorText error={list.error} />
      {list.data ? (
        <>
          <div ref={results}>
            <CaseList cases={list.data.cases} empty="No case matches." showStatus />
          </div>
          <nav class="actions paging" aria-label="Pages">
            <button
              type="button"
              class="secondary"
              disabled={offset === 0}
              onClick={() => turn(Math.max(0, offset - PAGE))}
            >
              Previous page
            </button>
            <span class="muted small">
              {list.data.cases.length ? `${offset + 1}–${offset + list.data.cases.length}` : ''}
            </span>
            <button
              type="button"
              class="secondary"
              disabled={list.data.next === null}
              onClick={() => turn(list.data!.next ?? 0)}
            >
              Next page
            </button>
          </nav>
        </>
      ) : null}
    </ScreenFrame>
  );
}
