import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from '../db/connection';
import { noteSlot, slotHint } from '../db/slots';

/**
 * Cases that collect a series of messages: an alert's cases (`alert:<id>#<n>`, the n-th case the
 * alert opened; a repeat joins the latest while it is open) and a sender's storm cases
 * (`storm:<sender>:<hour>#1`). Each is claimed by insert, so two instances reading two messages of
 * one series open one case: the loser joins the case of the winner's message, whose key it can
 * reserve itself from the claim (cases/keys.ts hands one key per source), even before the winner
 * has written the case.
 */
const GroupCaseModel = mongoose.model(
  'GroupCase',
  new Schema(
    {
      _id: String,
      /** The ingest key of the message that opened it, and the type its key is reserved with. */
      source: { type: String, required: true },
      type: { type: String, required: true },
      at: { type: Date, required: true },
    },
    { versionKey: false },
  ),
  'group_cases',
);

export interface GroupCase {
  source: string;
  type: string;
  at: Date;
}

/** The latest case of the series, with its number, if it has any. */
export async function latestGroupCase(series: string): Promise<{ n: number; opened: GroupCase } | undefined> {
  let found: { n: number; opened: GroupCase } | undefined;
  for (let n = Math.max(1, await slotHint(series)); n < 1_000_000; n++) {
    const opened = await GroupCaseModel.findById(`${series}#${n}`).lean<GroupCase>();
    if (!opened) break;
    found = { n, opened };
  }
  if (found) noteSlot(series, found.n);
  return found;
}

/**
 * Claims case `n` of the series for this message; when another message claimed it first (a
 * concurrent instance), answers with that one's claim, which the caller joins.
 */
export async function claimGroupCase(series: string, n: number, claim: GroupCase): Promise<GroupCase> {
  try {
    await GroupCaseModel.create({ _id: `${series}#${n}`, ...claim });
    noteSlot(series, n);
    return claim;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return (await GroupCaseModel.findById(`${series}#${n}`).lean<GroupCase>())!;
  }
}
