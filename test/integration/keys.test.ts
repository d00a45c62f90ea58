import mongoose from 'mongoose';
import { connectDatabase } from '../../server/db/connection';
import { acquireLease } from '../../server/db/lease';
import { reserveCaseKey } from '../../server/cases/keys';
import { testLog } from '../support/desk';
import { databaseUri, uniqueName } from '../support/env';
import { waitFor } from '../support/wait';

beforeAll(() => connectDatabase(databaseUri(uniqueName('keys')), testLog));
afterAll(async () => {
  await mongoose.connection.dropDatabase();
  await mongoose.disconnect();
});

// FerretDB does not make findOneAndUpdate/$inc atomic under concurrency; these prove that key
// allocation and the mailbox lease stay exactly-once anyway, on whichever server the tests run.
describe('when 60 case keys are reserved at once', () => {
  it('then every source gets its own key, numbered from 1 without reuse', async () => {
    const at = new Date('2026-04-24T08:15:00Z');
    const keys = await Promise.all(
      Array.from({ length: 60 }, (_, i) => reserveCaseKey('INC', at, `source-${i}`)),
    );
    expect(new Set(keys).size).toBe(60);
    expect(keys.every((k) => /^INC-2026-\d{3}$/.test(k))).toBe(true);
    expect(Math.max(...keys.map((k) => Number(k.slice(-3))))).toBeLessThanOrEqual(60);
  });

  it('then one source asked twice gets the same key', async () => {
    const at = new Date('2026-05-01T00:00:00Z');
    expect(await reserveCaseKey('SUP', at, 'calm-source')).toBe('SUP-2026-001');
    expect(await reserveCaseKey('SUP', at, 'calm-source')).toBe('SUP-2026-001');
    expect(await reserveCaseKey('SUP', at, 'other-source')).toBe('SUP-2026-002');
  });

  it('then one source asked many times at once gets one key, and skipped numbers are never handed out', async () => {
    const at = new Date('2026-05-01T00:00:00Z');
    const keys = await Promise.all(
      Array.from({ length: 20 }, () => reserveCaseKey('DAT', at, 'same-source')),
    );
    expect(new Set(keys).size).toBe(1);
    expect(await reserveCaseKey('DAT', at, 'same-source')).toBe(keys[0]);
    const next = await reserveCaseKey('DAT', at, 'next-source');
    expect(Number(next.slice(-3))).toBeGreaterThan(Number(keys[0]!.slice(-3)));
  });

  it('then each year starts again at 001', async () => {
    expect(await reserveCaseKey('ABU', new Date('2026-12-31T23:59:59Z'), 'a')).toBe('ABU-2026-001');
    expect(await reserveCaseKey('ABU', new Date('2027-01-01T00:00:00Z'), 'b')).toBe('ABU-2027-001');
  });
});

describe('when ten instances race for one mailbox lease', () => {
  it('then exactly one holds it, renews it, and the others wait until it expires', async () => {
    const name = uniqueName('lease');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => acquireLease(name, `i${i}`, 60_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = `i${results.indexOf(true)}`;
    expect(await acquireLease(name, winner, 60_000)).toBe(true);
    expect(await acquireLease(name, 'latecomer', 60_000)).toBe(false);

    const short = uniqueName('lease');
    expect(await acquireLease(short, 'first', 50)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(await acquireLease(short, 'second', 60_000)).toBe(true);
    expect(await acquireLease(short, 'first', 60_000)).toBe(false);
  });
});

describe('when a burst of case keys is reserved one after another', () => {
  it('then the stored hint of where the series ends catches up with the last one', async () => {
    // The hint is written at most once a second while a series is busy (db/slots.ts); the last
    // number of a burst must still reach it, or a restart would probe from far behind.
    const at = new Date('2026-06-01T00:00:00Z');
    let last = '';
    for (let i = 0; i < 25; i++) last = await reserveCaseKey('PHI', at, `burst-${i}`);
    expect(last).toBe('PHI-2026-025');
    const seq = async () =>
      (
        await mongoose.connection
          .collection<{ _id: string; seq: number }>('counters')
          .findOne({ _id: 'PHI-2026' })
      )?.seq;
    await waitFor('the hint at 25', async () => (await seq()) === 25, 5000);
  });
});
