import { ApiError, NetworkError } from './api';
import { addConflict, enqueue, newId, pending, send, sendQueue, type QueuedWrite } from './outbox';
import { online, say } from './store';
import type { CaseDetail } from './types';

/**
 * Every change a member makes to a case goes through here. Online, it is sent at once; offline
 * (or when it gets no answer, or while older writes still wait) it joins the outbox and shows as
 * pending. A 412 becomes a conflict; any other refusal is thrown with the desk's message.
 */

export type WriteResult = { state: 'done'; body: unknown } | { state: 'queued' } | { state: 'conflict' };

export interface CaseWrite {
  caseKey: string;
  label: string;
  method: QueuedWrite['method'];
  path: string;
  body: Record<string, unknown>;
}

export async function writeCase(w: CaseWrite): Promise<WriteResult> {
  const write = { ...w, id: newId() };
  if (!online.get() || pending.get().length > 0) {
    await enqueue(write);
    sendQueue();
    return { state: 'queued' };
  }
  try {
    return { state: 'done', body: (await send(write)).body };
  } catch (err) {
    if (err instanceof NetworkError) {
      await enqueue(write);
      sendQueue();
      say(`${w.label}: saved on this phone, and sent when the connection returns.`);
      return { state: 'queued' };
    }
    if (err instanceof ApiError && err.status === 412) {
      await addConflict(write, err.body.current);
      return { state: 'conflict' };
    }
    throw err;
  }
}

const casePath = (key: string, rest = '') => `/api/cases/${encodeURIComponent(key)}${rest}`;

/** Writes that carry the version last seen, by what they do. */
export const caseWrites = {
  patch: (c: CaseDetail, label: string, patch: Record<string, unknown>): CaseWrite => ({
    caseKey: c.key,
    label,
    method: 'PATCH',
    path: casePath(c.key),
    body: { version: c.version, ...patch },
  }),
  note: (c: CaseDetail, text: string): CaseWrite => ({
    caseKey: c.key,
    label: 'Note',
    method: 'POST',
    path: casePath(c.key, '/notes'),
    body: { version: c.version, text },
  }),
  reply: (c: CaseDetail, text: string): CaseWrite => ({
    caseKey: c.key,
    label: 'Reply to the reporter',
    method: 'POST',
    path: casePath(c.key, '/replies'),
    body: { text },
  }),
  vendorUpdate: (c: CaseDetail, update: { vendor: string; reference?: string; text: string }): CaseWrite => ({
    caseKey: c.key,
    label: 'Vendor update',
    method: 'POST',
    path: casePath(c.key, '/vendor-updates'),
    body: { version: c.version, ...update },
  }),
  split: (c: CaseDetail, entryId: string): CaseWrite => ({
    caseKey: c.key,
    label: 'Split into a case of its own',
    method: 'POST',
    path: casePath(c.key, '/split'),
    body: { version: c.version, entryId },
  }),
  checklist: (c: CaseDetail, item: { id: string; label: string }, done: boolean): CaseWrite => ({
    caseKey: c.key,
    label: `${done ? 'Tick' : 'Untick'}: ${item.label}`,
    method: 'PUT',
    path: casePath(c.key, `/checklist/${encodeURIComponent(item.id)}`),
    body: { version: c.version, done },
  }),
};

export { casePath };
