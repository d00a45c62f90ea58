/**
 * A few seconds' memory of who a token or session is, so that a busy client does not cost two
 * database reads on every request. Ending a session forgets it here at once; on another instance
 * it stops working within TTL_MS.
 */
export const RECENT_TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;

export class Recent<V> {
  private entries = new Map<string, { value: V; until: number }>();

  get(id: string): V | undefined {
    const hit = this.entries.get(id);
    if (!hit) return undefined;
    if (hit.until > Date.now()) return hit.value;
    this.entries.delete(id);
    return undefined;
  }

  set(id: string, value: V): void {
    if (this.entries.size >= MAX_ENTRIES) this.entries.clear();
    this.entries.set(id, { value, until: Date.now() + RECENT_TTL_MS });
  }

  forget(id: string): void {
    this.entries.delete(id);
  }
}
