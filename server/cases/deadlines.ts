import type { AlertKind, ClockKind, ClockState } from '../contract';
import type { CaseDoc } from './models';
import type { Playbook } from './playbook';

/**
 * A case's clocks, worked out from the case alone: pure, so every instance, restart and request
 * agrees on them, and nothing has to be stored but the facts each change records (`case.clock`).
 *
 *   response  the severity's response time from the first report; met by acknowledgement or the
 *             first human action; stands still while WaitingForVendor.
 *   update    for urgent severities while open and not Monitoring, from the first response on:
 *             the next update is due a set time after the last member action; stands still while
 *             WaitingForVendor (the move back is itself an update, so the count starts afresh).
 *   breach    for personal-data cases: 72 hours from awareness to notifying the authority.
 *   review    for urgent severities once resolved: the post-incident review, in business days.
 *
 * Each clock also names its alerts: who is pushed, and when. An alert's id says which situation
 * it belongs to (the severity, the deadline), so a changed deadline makes new alerts rather than
 * re-sending or losing old ones.
 */

export type { ClockKind, ClockState } from '../contract';

export interface ClockView {
  kind: ClockKind;
  state: ClockState;
  /** The deadline (while paused: as if the pause ended now). */
  dueAt: Date;
  /** When it was met or stopped. */
  doneAt?: Date;
  /** Met or stopped, but after the deadline: the SLA was breached all the same. */
  late?: boolean;
}

/**
 * Who an alert goes to. `page` is the on-call member(s) and the leads; `leads` all leads; `members`
 * everyone; `owner` the case's owner (or, without one, whoever is on call).
 */
export type Audience = 'page' | 'leads' | 'members' | 'owner' | 'owner-and-leads';

export interface Alert {
  /** Unique within the case; with the case key it is what makes an alert happen once. */
  id: string;
  clock: ClockKind;
  /** What the push says it is: urgent-case, escalation, response-due, update-due… */
  kind: AlertKind;
  at: Date;
  audience: Audience;
  /** Urgent alerts ring through quiet hours; the rest wait for them to end. */
  urgent: boolean;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const OPEN_FOR_UPDATES = new Set(['New', 'Triage', 'InProgress', 'WaitingForVendor', 'Escalated']);
/** How many late update cycles are reminded before the alerts stop repeating. */
const MAX_UPDATE_CYCLES = 48;

type Facts = NonNullable<CaseDoc['clock']>;
const factsOf = (doc: CaseDoc): Facts => (doc.clock ?? {}) as Facts;
const iso = (d: Date) => d.toISOString();

export function isUrgent(playbook: Playbook, severity: string): boolean {
  return playbook.severities[severity as keyof Playbook['severities']]?.urgent ?? false;
}

function responseMinutes(playbook: Playbook, severity: string): number {
  return playbook.severities[severity as keyof Playbook['severities']]?.responseMinutes ?? 24 * 60;
}

/** Adds business days (Monday to Friday, UTC), counting from the next one. */
export function addBusinessDays(from: Date, days: number): Date {
  const d = new Date(from);
  let left = days;
  while (left > 0) {
    d.setUTCDate(d.getUTCDate() + 1);
    const day = d.getUTCDay();
    if (day !== 0 && day !== 6) left--;
  }
  return d;
}

export function breachApplies(doc: CaseDoc, playbook: Playbook): boolean {
  return doc.personalData === true || playbook.clocks.breach.types.includes(doc.type);
}

/** A clock met or stopped at `at`: late when that was past its deadline. */
function done(kind: ClockKind, state: ClockState, dueAt: Date, at: Date): ClockView {
  const doneAt = new Date(at);
  return { kind, state, dueAt, doneAt, ...(doneAt >= dueAt ? { late: true } : {}) };
}

interface Reckoned {
  view: ClockView;
  alerts: Alert[];
}

function response(doc: CaseDoc, playbook: Playbook, now: Date): Reckoned {
  const f = factsOf(doc);
  const start = new Date(doc.firstSeenAt);
  const sla = responseMinutes(playbook, doc.severity) * MINUTE;
  const paused = (f.pausedMs ?? 0) + (f.pausedSince ? Math.max(0, now.getTime() - +f.pausedSince) : 0);
  const dueAt = new Date(start.getTime() + sla + paused);
  const metAt = f.respondedAt ?? f.acknowledgedAt;
  const sev = doc.severity;
  // Paged once per case, from when it became urgent; nobody is paged once it is acknowledged.
  const page: Alert = {
    id: 'page',
    clock: 'response',
    kind: 'urgent-case',
    at: f.severityAt && +f.severityAt > +start ? new Date(f.severityAt) : start,
    audience: 'page',
    urgent: true,
  };
  const pageable = isUrgent(playbook, sev) && !f.acknowledgedAt && !f.pausedSince;
  if (metAt) {
    // A member who raises an answered, open case to urgent has answered it, but the on-call
    // member and the leads must still be woken: the page goes out, the escalations do not.
    const raised = pageable && !!f.severityAt && OPEN_FOR_UPDATES.has(doc.status);
    return { view: done('response', 'met', dueAt, metAt), alerts: raised ? [page] : [] };
  }
  const state: ClockState = f.pausedSince ? 'paused' : now >= dueAt ? 'breached' : 'running';
  const view = { kind: 'response' as const, state, dueAt };
  // No alerts while paused: the deadline moves with the pause, and nobody is waiting on us.
  if (f.pausedSince) return { view, alerts: [] };
  if (isUrgent(playbook, sev)) {
    return {
      view,
      alerts: [
        page,
        {
          // Nobody took the page in time: it rings again for the on-call member and every lead…
          id: `escalate-1:${sev}:${iso(dueAt)}`,
          clock: 'response',
          kind: 'escalation',
          at: dueAt,
          audience: 'page',
          urgent: true,
        },
        {
          // …and after another response time, for everyone.
          id: `escalate-2:${sev}:${iso(dueAt)}`,
          clock: 'response',
          kind: 'escalation',
          at: new Date(dueAt.getTime() + sla),
          audience: 'members',
          urgent: true,
        },
      ],
    };
  }
  return {
    view,
    alerts: [
      {
        id: `response-due:${sev}:${iso(dueAt)}`,
        clock: 'response',
        kind: 'response-due',
        at: new Date(dueAt.getTime() - sla / 5),
        audience: 'owner',
        urgent: false,
      },
      {
        id: `response-breached:${sev}:${iso(dueAt)}`,
        clock: 'response',
        kind: 'response-breached',
        at: dueAt,
        audience: 'leads',
        urgent: false,
      },
    ],
  };
}

function update(doc: CaseDoc, playbook: Playbook, now: Date): Reckoned | undefined {
  const s = playbook.clocks.update;
  if (!s.severities.includes(doc.severity as (typeof s.severities)[number])) return undefined;
  if (!OPEN_FOR_UPDATES.has(doc.status)) return undefined;
  const f = factsOf(doc);
  // Updates are owed once someone has taken the case; until then the response clock escalates.
  const responded = f.respondedAt ?? f.acknowledgedAt;
  if (!responded) return undefined;
  const base = new Date(f.lastUpdateAt ?? responded);
  const every = s.everyMinutes * MINUTE;
  if (doc.status === 'WaitingForVendor')
    return { view: { kind: 'update', state: 'paused', dueAt: new Date(now.getTime() + every) }, alerts: [] };
  // Missed cycles follow one another: the leads hear again each time one more is missed.
  const late = Math.max(0, Math.floor((now.getTime() - base.getTime()) / every));
  const cycle = Math.min(late, MAX_UPDATE_CYCLES);
  const dueAt = new Date(base.getTime() + (cycle + 1) * every);
  const view: ClockView = { kind: 'update', state: late > 0 ? 'breached' : 'running', dueAt };
  const alerts: Alert[] = [];
  for (const n of new Set([Math.max(0, cycle - 1), cycle])) {
    const due = new Date(base.getTime() + (n + 1) * every);
    const id = `${iso(base)}:${n}`;
    alerts.push(
      {
        id: `update-due:${id}`,
        clock: 'update',
        kind: 'update-due',
        at: new Date(due.getTime() - s.remindBeforeMinutes * MINUTE),
        audience: 'owner',
        urgent: true,
      },
      {
        id: `update-missed:${id}`,
        clock: 'update',
        kind: 'update-missed',
        at: due,
        audience: 'leads',
        urgent: true,
      },
    );
  }
  return { view, alerts };
}

function breach(doc: CaseDoc, playbook: Playbook, now: Date): Reckoned | undefined {
  if (!breachApplies(doc, playbook)) return undefined;
  const s = playbook.clocks.breach;
  const f = factsOf(doc);
  const aware = new Date(f.awareAt ?? doc.firstSeenAt);
  const dueAt = new Date(aware.getTime() + s.hours * HOUR);
  if (f.authorityNotified?.at)
    return {
      view: done('breach', 'stopped', dueAt, f.authorityNotified.at),
      alerts: [],
    };
  const urgent = isUrgent(playbook, doc.severity);
  const alerts: Alert[] = s.remindBeforeHours.map((h) => ({
    id: `breach-${h}h:${iso(aware)}`,
    clock: 'breach',
    kind: 'breach-deadline',
    at: new Date(dueAt.getTime() - h * HOUR),
    audience: 'owner-and-leads',
    urgent,
  }));
  alerts.push({
    id: `breach-passed:${iso(aware)}`,
    clock: 'breach',
    kind: 'breach-deadline-passed',
    at: dueAt,
    audience: 'owner-and-leads',
    urgent,
  });
  return { view: { kind: 'breach', state: now >= dueAt ? 'breached' : 'running', dueAt }, alerts };
}

function review(doc: CaseDoc, playbook: Playbook, now: Date): Reckoned | undefined {
  const s = playbook.clocks.review;
  const f = factsOf(doc);
  if (!f.resolvedAt || !s.severities.includes(doc.severity as (typeof s.severities)[number]))
    return undefined;
  const resolved = new Date(f.resolvedAt);
  const dueAt = addBusinessDays(resolved, s.businessDays);
  if (f.review?.at) return { view: done('review', 'met', dueAt, f.review.at), alerts: [] };
  return {
    view: { kind: 'review', state: now >= dueAt ? 'breached' : 'running', dueAt },
    alerts: [
      {
        id: `review-due:${iso(resolved)}`,
        clock: 'review',
        kind: 'review-due',
        at: addBusinessDays(resolved, Math.max(0, s.businessDays - 1)),
        audience: 'owner',
        urgent: false,
      },
      {
        id: `review-missed:${iso(resolved)}`,
        clock: 'review',
        kind: 'review-missed',
        at: dueAt,
        audience: 'owner-and-leads',
        urgent: false,
      },
    ],
  };
}

function reckon(doc: CaseDoc, playbook: Playbook, now: Date): Reckoned[] {
  const closed = doc.status === 'Closed';
  // Imported history runs no clock until someone reopens it.
  if (closed && doc.history) return [];
  return [
    closed ? undefined : response(doc, playbook, now),
    update(doc, playbook, now),
    closed ? undefined : breach(doc, playbook, now),
    review(doc, playbook, now),
  ].filter((r): r is Reckoned => r !== undefined);
}

/** The case's clocks as the API shows them. */
export function caseClocks(doc: CaseDoc, playbook: Playbook, now = new Date()): ClockView[] {
  return reckon(doc, playbook, now).map((r) => r.view);
}

/** True when any of the case's clocks has run out, or was met or stopped only after it had. */
export function slaBreached(doc: CaseDoc, playbook: Playbook, now = new Date()): boolean {
  return caseClocks(doc, playbook, now).some((c) => c.state === 'breached' || c.late);
}

/**
 * The alerts due now: of each clock, only the latest whose time has come (one that was missed
 * while no instance ran gives way to its successor), and the time of the next one to come.
 */
export function dueAlerts(doc: CaseDoc, playbook: Playbook, now: Date): { due: Alert[]; nextAt?: Date } {
  const due: Alert[] = [];
  let nextAt: Date | undefined;
  for (const { alerts } of reckon(doc, playbook, now)) {
    const passed = alerts.filter((a) => a.at <= now).sort((a, b) => +a.at - +b.at);
    const last = passed[passed.length - 1];
    if (last) due.push(last);
    for (const a of alerts) if (a.at > now && (!nextAt || a.at < nextAt)) nextAt = a.at;
  }
  return { due, nextAt };
}
