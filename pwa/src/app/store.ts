import { useEffect, useState } from 'preact/hooks';
import type { CaseSummary, Me } from './types';

/** A value the page shares between screens, and a hook that re-renders when it changes. */
export interface Cell<T> {
  get(): T;
  set(value: T): void;
  subscribe(fn: (value: T) => void): () => void;
}

export function cell<T>(initial: T): Cell<T> {
  let value = initial;
  const listeners = new Set<(value: T) => void>();
  return {
    get: () => value,
    set(next) {
      value = next;
      for (const fn of [...listeners]) fn(next);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

export function useCell<T>(c: Cell<T>): T {
  // Values may be functions (a pending update's reload): wrap them, or Preact calls them as updaters.
  const [value, setValue] = useState(() => c.get());
  useEffect(() => {
    setValue(() => c.get());
    return c.subscribe((v) => setValue(() => v));
  }, [c]);
  return value;
}

/** Who is signed in: undefined while asking, null when nobody is. */
export const me = cell<Me | null | undefined>(undefined);

/** The browser's idea of the network. */
export const online = cell(typeof navigator === 'undefined' ? true : navigator.onLine);

/** Set when a new service worker waits: calling it reloads into the new version. */
export const updateReady = cell<(() => void) | null>(null);

/** A message for everyone to see (errors, "sent"), read out by screen readers. */
export const notice = cell<{ text: string; kind: 'error' | 'info' } | null>(null);

export function say(text: string, kind: 'error' | 'info' = 'info'): void {
  notice.set({ text, kind });
}

/** A write the desk refused with 412: what the member tried, and the case as it is now. */
export interface Conflict {
  id: string;
  caseKey: string;
  label: string;
  method: string;
  path: string;
  body: Record<string, unknown>;
  current: CaseSummary & Record<string, unknown>;
}

export const conflicts = cell<Conflict[]>([]);
