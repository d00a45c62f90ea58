/**
 * What the server and the PWA must agree on, in one place: the statuses of the status map, the
 * severities, the clocks and the alerts a push can name, and the shapes of what the committee
 * records on a case. No imports, and nothing that runs but constants: the PWA's bundle takes this
 * file as it is, and it is the only server file the PWA may import (test/unit/layers.test.ts).
 */

/** Seed 000's statuses, in the order a case usually moves through them (cases/lifecycle.ts). */
export const STATUSES = [
  'New',
  'Triage',
  'InProgress',
  'WaitingForVendor',
  'Monitoring',
  'Escalated',
  'Closed',
] as const;
export type Status = (typeof STATUSES)[number];

/** Seed 004's severities with seed 001's SLAs; SEV1 and SEV2 count as urgent. */
export const SEVERITIES = ['SEV1', 'SEV2', 'SEV3', 'SEV4'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A case's clocks (cases/deadlines.ts works them out). */
export type ClockKind = 'response' | 'update' | 'breach' | 'review';
export type ClockState = 'running' | 'paused' | 'met' | 'breached' | 'stopped';

/** What a clock's alerts are, as a push names them (`alert` in the payload). */
export const ALERT_KINDS = [
  'urgent-case',
  'escalation',
  'response-due',
  'response-breached',
  'update-due',
  'update-missed',
  'breach-deadline',
  'breach-deadline-passed',
  'review-due',
  'review-missed',
] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

/**
 * What a push carries. It can show on a lock screen, so it never holds the subject, the reporter
 * or any text of the case: the service worker fetches those once the member opens it.
 */
export interface PushPayload {
  /** A clock's alert, or `test` for a member's test notification. */
  alert: AlertKind | 'test';
  key?: string;
  severity?: string;
  /** Where a tap goes: a path on the desk, such as /#/case/INC-2026-007. */
  url: string;
  /** Which alert this is, so that acknowledging it can name it. */
  id?: string;
}

export interface FollowUp {
  task: string;
  owner: string;
  /** An ISO date, YYYY-MM-DD. */
  due: string;
}

/** The closure record: what closing a case requires (the playbook says which fields, by case). */
export interface ClosureRecord {
  rootCause?: string;
  vendorActions?: string;
  accountChanges?: string;
  followUps?: FollowUp[];
  lessons?: string;
}

/**
 * The closure record's fields, from the committee procedure: root cause, vendor actions, account or
 * password changes, follow-up tasks, lessons for future work.
 */
export const CLOSURE_FIELDS = [
  'rootCause',
  'vendorActions',
  'accountChanges',
  'followUps',
  'lessons',
] as const;
export type ClosureField = (typeof CLOSURE_FIELDS)[number];

export interface VendorContact {
  name?: string;
  organisation?: string;
  email?: string;
  phone?: string;
  ticket?: string;
}
