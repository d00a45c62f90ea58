import { authorize } from '../auth/policy';
import { findMember, type UserDoc } from '../auth/users';
import { commitChange, type Change } from './changes';
import { closureMissing, type ClosureRecord } from './closure';
import { allowedNext, canMove, REOPEN_STATUS } from './lifecycle';
import { caseFields, type CaseDoc, type Person } from './models';
import { person } from './person';
import type { Playbook } from './playbook';
import { CaseRefusal } from './refusal';
import type { VendorContact } from '../contract';

/**
 * The committee's work on a case: triage, notes, vendor updates and the checklist. Each is one
 * versioned change (changes.ts) with one timeline entry saying who and when; the policy module
 * decides who may.
 */

export type { VendorContact } from '../contract';

export interface CasePatch {
  type?: string;
  severity?: string;
  status?: string;
  /** A member's id or address; null to leave the case unowned. */
  owner?: string | null;
  vendorContact?: VendorContact | null;
  restricted?: boolean;
  personalData?: boolean;
  /** Per-type fields by id; null clears one. */
  fields?: Record<string, string | null>;
  closure?: ClosureRecord;
  /** Why: required to reopen, and to close a non-case straight from Triage. */
  reason?: string;
}

type Diff = { field: string; from: unknown; to: unknown };

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** Works out the new state of each top-level field the patch touches, and the diff to record. */
async function planPatch(doc: CaseDoc, patch: CasePatch, user: UserDoc, playbook: Playbook) {
  const set: Record<string, unknown> = {};
  const diffs: Diff[] = [];
  const put = (field: string, value: unknown, shown = field) => {
    const before = (doc as Record<string, unknown>)[field];
    if (same(before, value)) return;
    set[field] = value;
    diffs.push({ field: shown, from: before ?? null, to: value ?? null });
  };

  if (patch.type !== undefined) {
    if (!playbook.types[patch.type])
      throw new CaseRefusal('invalid', 'unknown-type', `There is no case type ${patch.type}.`, {
        allowed: Object.keys(playbook.types),
      });
    put('type', patch.type);
    // A type that holds personal data restricts the case unless the patch says otherwise.
    if (patch.restricted === undefined && playbook.types[patch.type]!.restricted) put('restricted', true);
  }
  if (patch.severity !== undefined) put('severity', patch.severity);
  if (patch.restricted !== undefined) {
    if (!patch.restricted && doc.restricted) authorize(user, 'case:unrestrict');
    put('restricted', patch.restricted);
  }
  if (patch.personalData !== undefined) put('personalData', patch.personalData);
  if (patch.owner !== undefined) {
    let owner: Person | null = null;
    if (patch.owner !== null) {
      const member = await findMember(patch.owner);
      if (!member) throw new CaseRefusal('invalid', 'unknown-member', `No member is ${patch.owner}.`);
      owner = person(member);
    }
    put('owner', owner);
  }
  if (patch.vendorContact !== undefined) put('vendorContact', patch.vendorContact);
  if (patch.fields) {
    const known = new Set(Object.values(playbook.types).flatMap((t) => t.requiredFields.map((f) => f.id)));
    const fields = { ...caseFields(doc) };
    for (const [id, value] of Object.entries(patch.fields)) {
      if (!known.has(id))
        throw new CaseRefusal('invalid', 'unknown-field', `No case type has a field ${id}.`, {
          allowed: [...known],
        });
      const before = fields[id];
      if (value === null || value.trim() === '') delete fields[id];
      else fields[id] = value.trim();
      if (!same(before, fields[id]))
        diffs.push({ field: `fields.${id}`, from: before ?? null, to: fields[id] ?? null });
    }
    if (!same(caseFields(doc), fields)) set.fields = fields;
  }
  const closure = { ...(doc.closure ?? {}) } as ClosureRecord & Record<string, unknown>;
  if (patch.closure) {
    for (const [field, value] of Object.entries(patch.closure)) {
      if (same(closure[field], value)) continue;
      diffs.push({ field: `closure.${field}`, from: closure[field] ?? null, to: value ?? null });
      closure[field] = value;
    }
  }
  if (patch.status !== undefined && patch.status !== doc.status) {
    planStatus(doc, { ...doc, ...set } as CaseDoc, patch, closure, user, playbook);
    put('status', patch.status);
  }
  if (patch.closure || set.status) set.closure = closure;
  return { set, diffs };
}

/** Checks a status move against the map, the reopen rule and the closure gate. */
function planStatus(
  doc: CaseDoc,
  after: CaseDoc,
  patch: CasePatch,
  closure: ClosureRecord & Record<string, unknown>,
  user: UserDoc,
  playbook: Playbook,
): void {
  const to = patch.status!;
  const reason = patch.reason?.trim();
  if (doc.status === 'Closed') {
    if (to !== REOPEN_STATUS)
      throw new CaseRefusal(
        'conflict',
        'illegal-transition',
        `A closed case reopens to ${REOPEN_STATUS} only.`,
        {
          allowed: [REOPEN_STATUS],
        },
      );
    if (!reason)
      throw new CaseRefusal('invalid', 'reason-required', 'Reopening a closed case needs a reason.');
    closure.reason = reason;
    delete closure.closedAt;
    delete closure.closedBy;
    return;
  }
  if (!canMove(doc.status, to))
    throw new CaseRefusal('conflict', 'illegal-transition', `A case in ${doc.status} cannot move to ${to}.`, {
      allowed: allowedNext(doc.status),
    });
  if (to !== 'Closed') return;
  // Triage → Closed is for what is not a case (spam, a duplicate): it needs only the reason.
  const missing =
    doc.status === 'Triage'
      ? reason
        ? []
        : ['reason']
      : closureMissing(
          playbook,
          { type: after.type, severity: after.severity, vendorInvolved: !!after.vendorContact },
          closure,
        );
  if (missing.length)
    throw new CaseRefusal(
      'conflict',
      'closure-incomplete',
      `The closure record is incomplete: ${missing.join(', ')}.`,
      {
        missing,
      },
    );
  if (reason) closure.reason = reason;
  closure.closedAt = new Date();
  closure.closedBy = person(user);
}

export async function patchCase(
  key: string,
  version: number,
  patch: CasePatch,
  user: UserDoc,
  playbook: Playbook,
): Promise<CaseDoc> {
  return commitChange(key, version, async (doc): Promise<Change | undefined> => {
    authorize(user, 'case:work', doc);
    const { set, diffs } = await planPatch(doc, patch, user, playbook);
    if (diffs.length === 0) return undefined;
    const reason = patch.reason?.trim();
    return {
      set,
      entry: { kind: 'change', by: person(user), change: { changes: diffs, ...(reason ? { reason } : {}) } },
    };
  });
}

export async function addNote(key: string, version: number, text: string, user: UserDoc): Promise<CaseDoc> {
  return commitChange(key, version, (doc) => {
    authorize(user, 'case:work', doc);
    return { set: {}, entry: { kind: 'note', by: person(user), note: { text } } };
  });
}

export interface VendorUpdate {
  vendor: string;
  reference?: string;
  text: string;
  receivedAt?: Date;
}

/** A vendor's reply with their ticket reference; the first one also records the vendor contact. */
export async function addVendorUpdate(
  key: string,
  version: number,
  update: VendorUpdate,
  user: UserDoc,
): Promise<CaseDoc> {
  return commitChange(key, version, (doc) => {
    authorize(user, 'case:work', doc);
    const set: Record<string, unknown> = {};
    if (!doc.vendorContact) set.vendorContact = { organisation: update.vendor, ticket: update.reference };
    return { set, entry: { kind: 'vendor-update', by: person(user), vendorUpdate: update } };
  });
}

export async function setChecklistItem(
  key: string,
  version: number,
  item: string,
  done: boolean,
  user: UserDoc,
  playbook: Playbook,
): Promise<CaseDoc> {
  return commitChange(key, version, (doc) => {
    authorize(user, 'case:work', doc);
    const def = playbook.checklists[doc.type]?.find((i) => i.id === item);
    if (!def)
      throw new CaseRefusal(
        'not-found',
        'checklist-item-not-found',
        `A ${doc.type} case has no checklist item ${item}.`,
      );
    const ticks = (doc.checklist ?? []).filter((t) => t.id !== item);
    const was = (doc.checklist ?? []).find((t) => t.id === item)?.done ?? false;
    if (was === done) return undefined;
    const by = person(user);
    return {
      set: { checklist: [...ticks, { id: item, done, by, at: new Date() }] },
      entry: { kind: 'checklist', by, checklist: { item, label: def.label, done } },
    };
  });
}
