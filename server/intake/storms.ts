import { noteCaseChanged } from '../cases/feed';
import { Case } from '../cases/models';
import { addGroupMember, removeGroupMember } from './group-cases';

/**
 * A storm case's count of the messages it holds, shown in the inbox ("Storm · 14 messages"). The
 * members are kept as a set on the storm's claim, so a message counted twice (a re-run after a
 * crash) counts once, and a message split out is counted out.
 */
export async function countStormMessage(series: string, ingestKey: string, caseKey: string): Promise<void> {
  // Counts read by concurrent runs arrive in any order: the highest is the latest.
  const messages = await addGroupMember(series, 1, ingestKey);
  await Case.updateOne({ _id: caseKey }, { $max: { 'storm.messages': messages } });
  await noteCaseChanged(caseKey);
}

export async function uncountStormMessage(series: string, ingestKey: string, caseKey: string): Promise<void> {
  const messages = await removeGroupMember(series, 1, ingestKey);
  await Case.updateOne({ _id: caseKey }, { $set: { 'storm.messages': messages } });
  await noteCaseChanged(caseKey);
}

/** The storm case's subject: whose mail, and which hour. */
export const stormSubject = (storm: { sender: string; hour: string }): string =>
  `Storm: mail from ${storm.sender}, ${storm.hour.slice(0, 10)} ${storm.hour.slice(11, 13)}:00–${storm.hour.slice(11, 13)}:59 UTC`;
