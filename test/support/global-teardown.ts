import fs from 'node:fs';
import type { DovecotRig } from './dovecot';

export default async function globalTeardown(): Promise<void> {
  const g = globalThis as Record<string, unknown>;
  await (g.__tocsinDovecot as DovecotRig | undefined)?.stop();
  const db = g.__tocsinDb as { stop(): Promise<void>; dir: string } | undefined;
  if (db) {
    await db.stop();
    fs.rmSync(db.dir, { recursive: true, force: true });
  }
}
