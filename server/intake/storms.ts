import mongoose, { Schema } from 'mongoose';
import { noteCaseChanged } from '../cases/feed';
import { Case } from '../cases/models';
import { isDuplicateKey } from '../db/connection';

/**
 * A storm case's count of the messages it holds, shown in the inbox ("Storm · 14 messages"). Each
 * message is a record of its own, inserted once by its ingest key, so a message counted twice (a
 * re-run after a crash) counts once, one split out is counted out, and concurrent runs lose none:
 * FerretDB applies an update to one document as a read and a write, so two `$addToSet`s or `$inc`s
 * at once can lose one, but two inserts cannot. Only storms write here, so counting them is cheap.
 */
const StormMember = mongoose.model(
  'StormMember',
  new Schema({ _id: String, series: { type: String, required: true, index: true } }, { versionKey: false }),
  'storm_members',
);

export async function countStormMessage(series: string, ingestKey: string, caseKey: string): Promise<void> {
  await StormMember.create({ _id: ingestKey, series }).catch((err: unknown) => {
    if (!isDuplicateKey(err)) throw err;
  });
  await showCount(series, caseKey);
}

export async function uncountStormMessage(series: string, ingestKey: string, caseKey: string): Promise<void> {
  await StormMember.deleteOne({ _id: ingestKey });
  await showCount(series, caseKey);
}

/**
 * Writes the count on the case until the case shows what is counted: a concurrent run may write
 * the count it read a moment earlier over ours, and then this run writes again.
 */
async function showCount(series: string, caseKey: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const messages = await StormMember.countDocuments({ series });
    await Case.updateOne({ _id: caseKey }, { $set: { 'storm.messages': messages } });
    const shown = await Case.findById(caseKey).select({ storm: 1 }).lean<{ storm?: { messages?: number } }>();
    if (!shown || shown.storm?.messages === (await StormMember.countDocuments({ series }))) break;
  }
  await noteCaseChanged(caseKey);
}

/** The storm case's subject: whose mail, and which hour. */
export const stormSubject = (storm: { sender: string; hour: string }): string =>
  `Storm: mail from ${storm.sender}, ${storm.hour.slice(0, 10)} ${storm.hour.slice(11, 13)}:00–${storm.hour.slice(11, 13)}:59 UTC`;
