import mongoose, { Schema } from 'mongoose';
import { isDuplicateKey } from '../db/connection';
import { claimNext, noteSlot, slotHint } from '../db/slots';
import { sha256 } from '../lib/hash';

/**
 * Per-sender limits that stop mail storms, exact across processes because every event claims a
 * numbered slot by insert (see db/slots.ts):
 *   - the circuit breaker: a sender's (n)th case attempt is refused when the five attempts before
 *     it all arrived within 60 minutes of it, that is when it would be the sixth case within an
 *     hour; the message then goes into the sender's storm case of the hour (disposition.ts). A
 *     refused attempt still takes a slot, so a loop that keeps going stays tripped;
 *   - acknowledgements: one per sender per 24 hours, counted from the last one sent.
 */

/**
 * Numbered events per sender (`opens:<sender>#<n>` for cases opened, `acks:<sender>#<n>` for
 * acknowledgements sent), claimed by insert, so limits hold across processes.
 */
const SenderSlot = mongoose.model(
  'SenderSlot',
  new Schema({ _id: String, at: { type: Date, required: true }, ingestKey: String }, { versionKey: false }),
  'sender_slots',
);

export const BREAKER = { maxCases: 5, windowMs: 60 * 60_000 };
export const ACK_WINDOW_MS = 24 * 60 * 60_000;

const senderId = (address: string) => sha256(address.trim().toLowerCase()).slice(0, 32);

export type OpeningDecision = { allowed: true; slotId: string } | { allowed: false; slotId: string };

/** Whether this sender may open another case now. Call once per message. */
export async function openingAllowed(address: string, at: Date, ingestKey: string): Promise<OpeningDecision> {
  const series = `opens:${senderId(address)}`;
  const slot = (n: number) => `${series}#${n}`;
  const n = await claimNext(series, slot, (id) => SenderSlot.create({ _id: id, at, ingestKey }));
  if (n <= BREAKER.maxCases) return { allowed: true, slotId: slot(n) };
  const back = await Promise.all(
    Array.from({ length: BREAKER.maxCases }, (_, i) => SenderSlot.findById(slot(n - 1 - i)).lean()),
  );
  // Tripped when each of the five attempts before this one arrived within an hour of it, before
  // or after: mail read out of order (a backlog, a moved folder) is judged by arrival time.
  const close = back.every((e) => e && Math.abs(at.getTime() - e.at.getTime()) < BREAKER.windowMs);
  return { allowed: !close, slotId: slot(n) };
}

/**
 * The storm case a tripped sender's mail goes into: one per sender and UTC hour of arrival, so a
 * loop that runs all night makes one case an hour, each small enough to read.
 */
export function stormSeries(address: string, at: Date): { series: string; hour: string } {
  const hour = `${at.toISOString().slice(0, 13)}:00Z`;
  return { series: `storm:${senderId(address)}:${hour.slice(0, 13)}`, hour };
}

/**
 * Claims this sender's acknowledgement for now, or says no when one went out within 24 hours.
 * Exact under concurrency: the next acknowledgement slot can be inserted by one caller only.
 */
export async function ackAllowed(address: string, at: Date, ingestKey: string): Promise<boolean> {
  const series = `acks:${senderId(address)}`;
  const slot = (n: number) => `${series}#${n}`;
  let m = await slotHint(series);
  for (let probes = 0; probes < 1000; probes++) {
    if (m > 0) {
      const last = await SenderSlot.findById(slot(m)).lean();
      if (last && at.getTime() - last.at.getTime() < ACK_WINDOW_MS) return false;
    }
    try {
      await SenderSlot.create({ _id: slot(m + 1), at, ingestKey });
      noteSlot(series, m + 1);
      return true;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      m++; // someone took that slot: judge against theirs
    }
  }
  return false;
}
