import type {
  ClockKind,
  ClockState,
  ClosureRecord as RecordedClosure,
  FollowUp,
  Severity,
  VendorContact,
} from '../../../server/contract';

/** The shapes the desk's API answers with (README "API"), as far as the page reads them. */

export type { ClockKind, ClockState, Severity };

export interface Person {
  id: string;
  name: string;
}

export interface Address {
  name?: string;
  address: string;
}

export interface Me {
  id: string;
  name: string;
  email: string;
  role: string;
  signedInWith?: 'cookie' | 'bearer';
  csrfToken?: string;
  sessions: SessionInfo[];
}

export interface SessionInfo {
  id: string;
  current: boolean;
  method: string;
  userAgent?: string;
  ip?: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
}

export interface PasskeyInfo {
  id: string;
  name: string;
  deviceType?: string;
  backedUp?: boolean;
  createdAt: string;
  lastUsedAt?: string;
}

/** A case as lists show it: in full, or as a stub when it is restricted from this member. */
export interface CaseSummary {
  key: string;
  type: string;
  severity: Severity;
  status: string;
  hidden?: boolean;
  restricted?: boolean;
  subject?: string;
  reporter?: Address;
  owner: Person | null;
  createdAt: string;
  updatedAt: string;
  version: number;
  /** DMARC/SPF/DKIM on the report that opened the case (absent on a restricted stub). */
  senderVerdict?: 'pass' | 'fail' | 'none';
  /** Who took the case's page, and when (absent on a restricted stub). */
  acknowledged?: { by: Person; at: string | null } | null;
  /** The case's clocks (server/cases/deadlines.ts), for countdowns. */
  clocks?: Clock[];
  /** Imported from the mailbox's history on the first connection (IMAP_HISTORY=archive). */
  history?: boolean;
  /** A sender's overflow of one hour (a storm), with how many messages the case holds. */
  storm?: { sender: string; hour: string; messages: number } | null;
  /** Opened by a monitoring system's alert. */
  alert?: boolean;
}

export interface Clock {
  kind: ClockKind;
  state: ClockState;
  dueAt: string;
  doneAt?: string;
}

/** The personal-data breach record (GDPR Art. 33): awareness, and the authority's notification. */
export interface BreachRecord {
  awareAt: string;
  authorityNotified: { at: string; reference: string; reason?: string; by?: Person } | null;
}

/** One push alert on the timeline: whom it went to, and how each device took it. */
export interface AlertEntry {
  kind: string;
  clock: ClockKind;
  recipients: Person[];
  unreachable: Person[];
  results: { outcome: string; attempts: unknown[] }[];
}

export type { FollowUp, VendorContact };

/** The closure record as the desk returns it: what was recorded, and why it closed or reopened. */
export interface ClosureRecord extends RecordedClosure {
  reason?: string;
}

export interface ChecklistItem {
  id: string;
  label: string;
  section?: string;
  done: boolean;
  by?: Person;
  at?: string;
}

export interface EmailEntry {
  direction: 'in' | 'out';
  from?: Address;
  to: Address[];
  cc?: Address[];
  subject: string;
  date?: string;
  text: string;
  html?: string;
  blockedImages: number;
  attachments: { filename: string; contentType?: string; size?: number; sha256: string; url: string }[];
  verdict?: { verdict: string; reasons: string[] };
  classification?: { kind: string; reasons: string[] };
  delivery?: { state: string; attempts: number; lastError?: string };
}

export interface TimelineEntry {
  id: string;
  kind: string;
  at: string;
  by?: Person;
  email?: EmailEntry;
  notice?: { code: string; message: string };
  change?: { changes: { field: string; from: unknown; to: unknown }[]; reason?: string };
  note?: { text: string };
  vendorUpdate?: { vendor: string; reference?: string; text: string; receivedAt?: string };
  checklist?: { item: string; label: string; done: boolean };
  alert?: AlertEntry;
}

export interface CaseDetail extends CaseSummary {
  subject: string;
  reporter: Address;
  allowedStatuses: string[];
  reopenTo?: string;
  personalData: boolean;
  vendorContact: VendorContact | null;
  suggestion: { type: string; severity: string; reasons: string[] };
  fields: Record<string, string>;
  missingFields: { id: string; label: string }[];
  checklist: ChecklistItem[];
  closure: { record: ClosureRecord | null; required: string[]; missing: string[] };
  indicators: { type: string; value: string; display: string; reports: number }[];
  timeline: TimelineEntry[];
  breach: BreachRecord | null;
  review: { at: string; link: string; by?: Person } | null;
}

/** The desk's own statuses and severities (a pure module with no imports, bundled into the page). */
export { SEVERITIES, STATUSES } from '../../../server/contract';

/** How a status reads to a person. */
export const statusLabel = (s: string) =>
  ({ InProgress: 'In progress', WaitingForVendor: 'Waiting for vendor' })[s] ?? s;
