import type { Playbook } from './playbook';
import { CLOSURE_FIELDS, type ClosureField, type ClosureRecord } from '../contract';

/**
 * What a case needs before it is closed, and how far its checklist has got: pure functions over the
 * playbook, so routes and the page ask the same questions and get the same answers.
 */

export { CLOSURE_FIELDS, type ClosureField, type ClosureRecord, type FollowUp } from '../contract';

export interface CaseFacts {
  type: string;
  severity: string;
  vendorInvolved: boolean;
}

export interface Tick {
  id: string;
  done: boolean;
  by?: { id: string; name: string };
  at?: Date;
}

export interface ChecklistItemState {
  id: string;
  label: string;
  section: string | undefined;
  done: boolean;
  by: { id: string; name: string } | undefined;
  at: Date | undefined;
}

/** The closure fields the playbook requires for this case, in CLOSURE_FIELDS order. */
export function closureRequired(playbook: Playbook, c: CaseFacts): ClosureField[] {
  const applies = playbook.closure.requirements.filter(
    (r) =>
      (!r.types || r.types.includes(c.type)) &&
      (!r.severities || r.severities.some((s) => s === c.severity)) &&
      (!r.whenVendorInvolved || c.vendorInvolved),
  );
  return CLOSURE_FIELDS.filter((f) => applies.some((r) => r.field === f));
}

/**
 * What the closure record still lacks, as stable strings: the name of each required field that is
 * absent or blank (followUps when required and empty), and followUps[i].task / .owner / .due for any
 * follow-up given without a task, an owner or a valid due date, required or not.
 */
export function closureMissing(
  playbook: Playbook,
  c: CaseFacts,
  record: ClosureRecord | undefined,
): string[] {
  const required = new Set(closureRequired(playbook, c));
  const missing: string[] = [];
  for (const field of CLOSURE_FIELDS) {
    if (field === 'followUps') {
      const followUps = record?.followUps ?? [];
      if (required.has(field) && followUps.length === 0) missing.push(field);
      followUps.forEach((f, i) => {
        if (isBlank(f?.task)) missing.push(`followUps[${i}].task`);
        if (isBlank(f?.owner)) missing.push(`followUps[${i}].owner`);
        if (!isIsoDate(f?.due)) missing.push(`followUps[${i}].due`);
      });
    } else if (required.has(field) && isBlank(record?.[field])) {
      missing.push(field);
    }
  }
  return missing;
}

/** The type's required fields that are not known from the sender and have no value yet. */
export function missingFields(
  playbook: Playbook,
  type: string,
  fields: Record<string, string> | undefined,
): { id: string; label: string }[] {
  const def = playbook.types[type];
  if (!def) return [];
  return def.requiredFields
    .filter((f) => !f.fromEmail && isBlank(fields?.[f.id]))
    .map((f) => ({ id: f.id, label: f.label }));
}

/**
 * The type's checklist in playbook order, each item with its latest tick. Ticks for ids that are not
 * in the checklist (a step since removed from the playbook) are ignored.
 */
export function checklistState(
  playbook: Playbook,
  type: string,
  ticks: Tick[] | undefined,
): ChecklistItemState[] {
  const latest = new Map<string, Tick>();
  for (const t of ticks ?? []) latest.set(t.id, t);
  return (playbook.checklists[type] ?? []).map((item) => {
    const tick = latest.get(item.id);
    return {
      id: item.id,
      label: item.label,
      section: item.section,
      done: tick?.done ?? false,
      by: tick?.by,
      at: tick?.at,
    };
  });
}

function isBlank(v: unknown): boolean {
  return typeof v !== 'string' || v.trim() === '';
}

/** A real calendar date written YYYY-MM-DD (so 2026-02-30 is not one). */
export function isIsoDate(v: unknown): boolean {
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) return false;
  const d = new Date(`${v}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
}
