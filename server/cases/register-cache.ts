import { Case, type CaseDoc } from './models';
import { changesSince, feedEnd, forgetWrittenHere, onCaseChanged } from './feed';

/**
 * Every case's register fields in memory, newest first, kept current by the case feed. Listing
 * and exporting the register then costs one `_id` lookup (is there news?) instead of a query
 * FerretDB would answer by reading and sorting every case (about half a second at 10,000 cases).
 *
 * Changes made by this process show at once; another instance's within CHECK_MS. A full reload
 * every FULL_RELOAD_MS mends anything the feed missed (an instance that died between writing a
 * case and recording the change).
 */

const CHECK_MS = 250;
const FULL_RELOAD_MS = 10 * 60_000;

class RegisterCache {
  private rows = new Map<string, CaseDoc>();
  private sorted: CaseDoc[] | undefined;
  private seen = 0;
  private checkedAt = 0;
  private loadedAt = 0;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly dirty: Set<string>) {}

  /** All cases, newest first (createdAt, then key), as of now. */
  async cases(): Promise<readonly CaseDoc[]> {
    const now = Date.now();
    if (now - this.loadedAt > FULL_RELOAD_MS || this.dirty.size > 0 || now - this.checkedAt > CHECK_MS) {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
      await this.refreshing;
    }
    this.sorted ??= [...this.rows.values()].sort(newestFirst);
    return this.sorted;
  }

  private async refresh(): Promise<void> {
    const now = Date.now();
    if (now - this.loadedAt > FULL_RELOAD_MS) return this.reload();
    const local = [...this.dirty];
    this.dirty.clear();
    const news = await changesSince(this.seen);
    if (!news.complete) return this.reload();
    this.seen = news.last;
    this.checkedAt = now;
    await this.fetch([...new Set([...local, ...news.keys])]);
  }

  private async reload(): Promise<void> {
    const now = Date.now();
    this.dirty.clear();
    // The feed's end first: a change made while the cases load is then read again, not lost.
    const end = await feedEnd();
    const docs = await Case.find().lean<CaseDoc[]>();
    this.rows = new Map(docs.map((d) => [d.key, d]));
    this.sorted = undefined;
    this.seen = end;
    this.loadedAt = this.checkedAt = now;
  }

  private async fetch(keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    const docs = await Promise.all(keys.map((key) => Case.findById(key).lean<CaseDoc>()));
    for (const doc of docs) if (doc) this.rows.set(doc.key, doc);
    this.sorted = undefined;
  }
}

function newestFirst(a: CaseDoc, b: CaseDoc): number {
  return b.createdAt.getTime() - a.createdAt.getTime() || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);
}

/** One per process and database: tests that switch databases call resetRegisterCache(). */
let cache: RegisterCache | undefined;
/** Cases this process changed since the cache last looked. */
const changedHere = new Set<string>();
onCaseChanged((key) => changedHere.add(key));

export const registerCases = () => (cache ??= new RegisterCache(changedHere)).cases();

export function resetRegisterCache(): void {
  cache = undefined;
  changedHere.clear();
  forgetWrittenHere();
}
