import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { ApiError, NetworkError, ensureCsrf, request, setCsrf } from './api';
import { cell, conflicts, say, type Conflict } from './store';
import type { CaseSummary } from './types';

/**
 * Writes made offline wait here, in IndexedDB, and are sent in the order they were made when the
 * connection returns or the page starts. A write the desk refuses as stale (412) becomes a
 * conflict for the member to decide; nothing is ever overwritten silently.
 */

export interface QueuedWrite {
  /** The queue's order (IndexedDB key). */
  seq?: number;
  /** Sent as Idempotency-Key, so a retried reply sends one mail. */
  id: string;
  caseKey: string;
  /** What the member did, in their words ("Note", "Status: Monitoring"). */
  label: string;
  method: 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  body: Record<string, unknown>;
  queuedAt: string;
}

/** A queued write the desk refused for good (not a conflict), kept until the member has read why. */
export interface Refusal {
  /** The write's id. */
  id: string;
  write: QueuedWrite;
  message: string;
}

interface OutboxDb extends DBSchema {
  outbox: { key: number; value: QueuedWrite };
  conflicts: { key: string; value: Conflict };
  refused: { key: string; value: Refusal };
}

let dbPromise: Promise<IDBPDatabase<OutboxDb>> | undefined;
const db = () =>
  (dbPromise ??= openDB<OutboxDb>('tocsin', 2, {
    upgrade(d, oldVersion) {
      if (oldVersion < 1) {
        d.createObjectStore('outbox', { keyPath: 'seq', autoIncrement: true });
        d.createObjectStore('conflicts', { keyPath: 'id' });
      }
      if (oldVersion < 2) d.createObjectStore('refused', { keyPath: 'id' });
    },
  }));

/** The writes still waiting, oldest first. */
export const pending = cell<QueuedWrite[]>([]);

/** Bumped each time a queued write reached the desk, with the case it changed. */
export const sent = cell<{ caseKey: string; n: number }>({ caseKey: '', n: 0 });

/**
 * Queued writes the desk refused for good (not a conflict), with its reason: shown until the
 * member dismisses them, across reloads, since the member was not looking when they were sent.
 */
export const failed = cell<Refusal[]>([]);

async function reload(): Promise<void> {
  const d = await db();
  pending.set(await d.getAll('outbox'));
  conflicts.set(await d.getAll('conflicts'));
  failed.set(await d.getAll('refused'));
}

/** The member has read the refusals. */
export async function dismissRefusals(): Promise<void> {
  try {
    await (await db()).clear('refused');
  } finally {
    failed.set([]);
  }
}

export async function loadOutbox(): Promise<void> {
  try {
    await reload();
  } catch {
    // No IndexedDB (a private window in some browsers): writes then need the network.
  }
}

export const newId = () =>
  typeof crypto.randomUUID === 'function'
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;

export async function enqueue(write: Omit<QueuedWrite, 'seq' | 'queuedAt'>): Promise<void> {
  await (await db()).add('outbox', { ...write, queuedAt: new Date().toISOString() });
  await reload();
}

export async function addConflict(write: Omit<QueuedWrite, 'seq' | 'queuedAt'>, current: unknown) {
  const conflict: Conflict = {
    id: write.id,
    caseKey: write.caseKey,
    label: write.label,
    method: write.method,
    path: write.path,
    body: write.body,
    current: current as Conflict['current'],
  };
  try {
    await (await db()).put('conflicts', conflict);
    await reload();
  } catch {
    conflicts.set([...conflicts.get().filter((c) => c.id !== conflict.id), conflict]);
  }
}

export async function dropConflict(id: string): Promise<void> {
  try {
    await (await db()).delete('conflicts', id);
    await reload();
  } catch {
    conflicts.set(conflicts.get().filter((c) => c.id !== id));
  }
}

export const send = (w: Pick<QueuedWrite, 'id' | 'method' | 'path' | 'body'>) =>
  request<unknown>(w.method, w.path, w.body, { 'idempotency-key': w.id });

let flushing: Promise<void> | undefined;

/** Sends the queue in order; stops at the first write that gets no answer. */
export function flush(): Promise<void> {
  return (flushing ??= sendAll().finally(() => (flushing = undefined)));
}

let retry: ReturnType<typeof setTimeout> | undefined;
let retryDelay = 1000;

/**
 * Sends the queue, and while writes still wait (the desk unreachable though the browser thinks it
 * is online, or the connection only half back) tries again after 1, 2, 4… up to 20 seconds.
 * `afresh` (the connection is back) starts the delays over.
 */
export function sendQueue(opts: { afresh?: boolean } = {}): void {
  clearTimeout(retry);
  if (opts.afresh) retryDelay = 1000;
  void flush().then(() => {
    if (!pending.get().length) {
      retryDelay = 1000;
      return;
    }
    if (!navigator.onLine) return; // the online event starts it again
    retry = setTimeout(sendQueue, retryDelay);
    retryDelay = Math.min(retryDelay * 2, 20_000);
  });
}

async function sendAll(): Promise<void> {
  const d = await db();
  // Writes queued against one version of a case: once ours moved it on, the next ones follow.
  const moved = new Map<string, { from: number; to: number }>();
  let csrfRetried = false;
  for (;;) {
    const [write] = await d.getAll('outbox', undefined, 1);
    if (!write) break;
    const body = { ...write.body };
    const m = moved.get(write.caseKey);
    if (m && body.version === m.from) body.version = m.to;
    try {
      await ensureCsrf();
      const answer = await send({ ...write, body });
      const next = (answer.body as Partial<CaseSummary> | undefined)?.version;
      if (typeof body.version === 'number' && typeof next === 'number')
        moved.set(write.caseKey, { from: m?.from ?? (write.body.version as number), to: next });
      await d.delete('outbox', write.seq!);
      sent.set({ caseKey: write.caseKey, n: sent.get().n + 1 });
    } catch (err) {
      if (err instanceof NetworkError) break;
      if (err instanceof ApiError && err.code === 'csrf' && !csrfRetried) {
        csrfRetried = true;
        setCsrf(undefined);
        continue;
      }
      if (err instanceof ApiError && err.status === 401) break;
      if (err instanceof ApiError && err.status >= 500) break;
      // Kept as a conflict or a refusal before it leaves the queue, so a closed tab loses neither.
      if (err instanceof ApiError && err.status === 412) {
        await addConflict({ ...write, body }, err.body.current);
      } else {
        const message = err instanceof Error ? err.message : String(err);
        await d.put('refused', { id: write.id, write, message });
        say(`${write.label} on ${write.caseKey} was refused: ${message}`, 'error');
      }
      await d.delete('outbox', write.seq!);
    } finally {
      await reload();
    }
  }
}
