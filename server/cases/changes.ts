import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from '../db/connection';
import { noteCaseChanged } from './feed';
import { Case, type CaseDoc, type TimelineDoc } from './models';
import { recordTimelineEntry } from './service';
import { clockOperators, clockUpdateFor, type ClockUpdate } from './clock-facts';

/**
 * Versioned changes to a case, exactly once, without transactions. A writer who saw version n
 * claims version n+1 by inserting the change `KEY#n+1`: only one insert of that _id can succeed,
 * so of two writers with the same version exactly one wins and the other is told it is stale.
 * The claimed change holds everything needed to apply it, so if the winner dies before applying
 * it, the next reader of the case rolls it forward: a change that was claimed is never lost and
 * never applied twice.
 */

const changeSchema = new Schema(
  {
    _id: String,
    caseKey: { type: String, required: true },
    version: { type: Number, required: true },
    /** Top-level case fields and their new values (no dotted paths). */
    set: { type: Schema.Types.Mixed, default: () => ({}) },
    entry: { type: Schema.Types.Mixed, required: true },
    /** What the change tells the case's clocks (cases/clock-facts.ts). */
    clock: { type: Schema.Types.Mixed, default: undefined },
    at: { type: Date, required: true },
  },
  { versionKey: false, minimize: false },
);
const CaseChange = mongoose.model('CaseChange', changeSchema, 'case_changes');

interface ChangeDoc {
  _id: string;
  caseKey: string;
  version: number;
  set: Record<string, unknown>;
  entry: TimelineDoc;
  clock?: ClockUpdate;
  at: Date;
}

/** The write was made against an older version than the case now has. */
export class StaleVersion extends Error {
  constructor(readonly current: CaseDoc) {
    super(`The case has changed since version you saw; it is at version ${current.version} now.`);
  }
}

export class CaseNotFound extends Error {}

const changeId = (key: string, version: number) => `${key}#v${version}`;

/** Applies a claimed change; repeating it changes nothing. */
async function apply(change: ChangeDoc): Promise<void> {
  const clock = clockOperators(change.clock);
  await Case.updateOne(
    { _id: change.caseKey, version: change.version - 1 },
    { ...clock, $set: { ...change.set, ...clock.$set, version: change.version } },
    { timestamps: false },
  );
  await noteCaseChanged(change.caseKey);
  await recordTimelineEntry({ ...change.entry, at: new Date(change.at) });
}

/** The case as it stands, after rolling forward any change that was claimed but not applied. */
export async function settledCase(key: string): Promise<CaseDoc | undefined> {
  for (let round = 0; round < 100; round++) {
    const doc = await Case.findById(key).lean<CaseDoc>();
    if (!doc) return undefined;
    const pending = await CaseChange.findById(changeId(key, doc.version + 1)).lean<ChangeDoc>();
    if (!pending) return doc;
    await apply(pending);
  }
  throw new Error(`case ${key}: more than 100 unapplied changes`);
}

export interface Change {
  set: Record<string, unknown>;
  /** Facts for the clocks beyond what the entry implies (an acknowledgement, awareness). */
  clock?: ClockUpdate;
  /** The timeline entry, without its _id, case key and time: those come from the version. */
  entry: Omit<TimelineDoc, '_id' | 'caseKey' | 'at'>;
}

/**
 * Makes one change to the case, if it is still at `version`. `build` sees the current case and
 * returns the change, or undefined when there is nothing to change; it may throw to refuse.
 */
export async function commitChange(
  key: string,
  version: number,
  build: (current: CaseDoc) => Change | undefined | Promise<Change | undefined>,
): Promise<CaseDoc> {
  const current = await settledCase(key);
  if (!current) throw new CaseNotFound(`There is no case ${key}.`);
  if (current.version !== version) throw new StaleVersion(current);
  const change = await build(current);
  if (!change) return current;
  const next = version + 1;
  const at = new Date();
  const doc: ChangeDoc = {
    _id: changeId(key, next),
    caseKey: key,
    version: next,
    set: change.set,
    entry: { ...change.entry, _id: `change:${changeId(key, next)}`, caseKey: key, at } as TimelineDoc,
    clock: change.clock ?? clockUpdateFor(current, change.entry, change.set, at),
    at,
  };
  try {
    await CaseChange.create(doc);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    throw new StaleVersion((await settledCase(key)) ?? current);
  }
  await apply(doc);
  return (await settledCase(key)) ?? current;
}
