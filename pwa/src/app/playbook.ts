import { useEffect } from 'preact/hooks';
import { get } from './api';
import { cell, useCell } from './store';
import { SEVERITIES, type Severity } from './types';

/**
 * The desk's case types and severities (GET /api/playbook), which the committee may change: the
 * page offers what the desk knows, not a copy of the default. Kept for offline use by the service
 * worker and, between visits, in localStorage.
 */

export interface PlaybookSummary {
  defaultType: string;
  types: { id: string; name: string; defaultSeverity: Severity; restricted: boolean }[];
  severities: { id: Severity; name: string; description: string; responseMinutes: number; urgent: boolean }[];
}

const STORED = 'tocsin.playbook';

function remembered(): PlaybookSummary | null {
  try {
    const text = localStorage.getItem(STORED);
    return text ? (JSON.parse(text) as PlaybookSummary) : null;
  } catch {
    return null;
  }
}

const playbook = cell<PlaybookSummary | null>(null);
let asked = false;

async function load(): Promise<void> {
  try {
    const { body } = await get<PlaybookSummary>('/api/playbook');
    playbook.set(body);
    try {
      localStorage.setItem(STORED, JSON.stringify(body));
    } catch {
      // Private mode: asked again next visit.
    }
  } catch {
    asked = false; // offline or signed out: try again on the next screen that needs it
  }
}

/** The playbook, loaded once per visit; null until it is known. */
export function usePlaybook(): PlaybookSummary | null {
  const value = useCell(playbook);
  useEffect(() => {
    if (asked) return;
    asked = true;
    if (!playbook.get()) playbook.set(remembered());
    void load();
  }, []);
  return value;
}

/** A type's name, or its key when the playbook is not known (yet) or no longer has it. */
export const typeName = (p: PlaybookSummary | null, id: string) =>
  p?.types.find((t) => t.id === id)?.name ?? id;

/** The type keys to offer, the case's own first when the playbook no longer lists it. */
export function typeOptions(p: PlaybookSummary | null, current?: string): [string, string][] {
  const ids = p?.types.map((t) => t.id) ?? [];
  if (current && !ids.includes(current)) ids.unshift(current);
  return ids.map((id) => [id, `${id} · ${typeName(p, id)}`]);
}

/** The severities to offer (the desk's fixed SEVERITIES), with the playbook's names once known. */
export function severityOptions(p: PlaybookSummary | null): [string, string][] {
  const known = p?.severities ?? [];
  return SEVERITIES.map((id) => {
    const name = known.find((s) => s.id === id)?.name;
    return [id, name ? `${id} · ${name}` : id];
  });
}
