import type { Address, CaseSummary } from '../types';

/** How old something is, briefly: "just now", "12 min", "3 h", "5 d". */
export function age(iso: string, now = Date.now()): string {
  const minutes = Math.max(0, Math.floor((now - Date.parse(iso)) / 60_000));
  if (minutes < 1) return 'just now';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h`;
  return `${Math.floor(hours / 24)} d`;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** HH:MM in the member's time zone. */
export const clock = (d: Date) => `${pad(d.getHours())}:${pad(d.getMinutes())}`;

/** A date and time, short. */
export function when(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${clock(d)}`;
}

export const isUrgent = (severity: string) => severity === 'SEV1' || severity === 'SEV2';

/** Urgent cases (SEV1, SEV2) first, then the newest. */
export function urgentFirst<T extends Pick<CaseSummary, 'severity' | 'createdAt'>>(cases: T[]): T[] {
  return [...cases].sort(
    (a, b) =>
      Number(isUrgent(b.severity)) - Number(isUrgent(a.severity)) ||
      Date.parse(b.createdAt) - Date.parse(a.createdAt),
  );
}

export const person = (a: Address | undefined) => (!a ? '' : a.name ? `${a.name} <${a.address}>` : a.address);

export const CLOSURE_LABELS: Record<string, string> = {
  rootCause: 'Root cause',
  vendorActions: 'Vendor actions',
  accountChanges: 'Account or password changes',
  followUps: 'Follow-up tasks',
  lessons: 'Lessons for future work',
  reason: 'Reason',
};

/** A closure gap as the desk names it ("followUps[0].due"), in words. */
export function closureGap(gap: string): string {
  const m = /^followUps\[(\d+)\]\.(task|owner|due)$/.exec(gap);
  if (m) {
    const part = { task: 'task', owner: 'owner', due: 'due date (YYYY-MM-DD)' }[m[2] as 'task'];
    return `Follow-up ${Number(m[1]) + 1}: ${part}`;
  }
  return CLOSURE_LABELS[gap] ?? gap;
}

/** A value of a change entry or a conflict, as text. */
export function shown(v: unknown): string {
  if (v === null || v === undefined || v === '') return '(none)';
  if (Array.isArray(v)) return v.length ? v.map(shown).join('; ') : '(none)';
  if (typeof v === 'object' && 'task' in v) {
    const f = v as { task?: string; owner?: string; due?: string };
    return `${f.task || '(no task)'} (${f.owner || 'no owner'}, due ${f.due || '?'})`;
  }
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.name === 'string' && Object.keys(o).length <= 2) return o.name;
    return Object.entries(o)
      .filter(([, x]) => x !== undefined && x !== null && x !== '')
      .map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
      .join(', ');
  }
  return String(v);
}

export const bytes = (n: number | undefined) =>
  n === undefined
    ? ''
    : n < 1024
      ? `${n} B`
      : n < 1048576
        ? `${Math.round(n / 1024)} KB`
        : `${(n / 1048576).toFixed(1)} MB`;

/** A browser's user agent, briefly: "Chrome on Android". */
export function shortAgent(ua: string | undefined): string {
  if (!ua) return 'Unknown device';
  const browser = /(Firefox|Edg|Chrome|Safari)\/[\d.]+/.exec(ua)?.[1] ?? 'Browser';
  // Android's user agents say "Linux; Android": the more telling name wins, wherever it stands.
  const os = ['Android', 'iPhone', 'iPad', 'Windows', 'Mac OS X', 'Linux'].find((o) => ua.includes(o)) ?? '';
  return `${browser === 'Edg' ? 'Edge' : browser}${os ? ` on ${os === 'Mac OS X' ? 'Mac' : os}` : ''}`;
}
