import { triageDesk } from '../support/triage-desk';

/**
 * The register's filters on cases opened by real mail: type, severity, status, service, owner,
 * vendor, the day created and q, in the list (GET /api/cases) and the export (GET /api/cases.csv).
 */

const desk = triageDesk('register-filters', ['r1', 'r2', 'r3', 'r4']);
const { keys, admin, member, call, get, update, walk, listKeys } = desk;

describe('when the register is filtered', () => {
  const R = ['r1', 'r2', 'r3', 'r4'] as const;
  let days: string[];

  beforeAll(async () => {
    await update(keys.r1, { severity: 'SEV4', owner: admin.id, fields: { service: 'Member portal' } });
    await update(keys.r2, {
      type: 'INC',
      severity: 'SEV1',
      owner: member.id,
      vendorContact: { organisation: 'Payments Co', ticket: 'PC-9' },
    });
    await walk(keys.r2, 'Triage');
    await update(keys.r3, { severity: 'SEV2', fields: { service: 'Website' } });
    await walk(keys.r3, 'Triage', 'InProgress');
    days = await Promise.all(R.map(async (r) => (await get(keys[r])).createdAt.slice(0, 10)));
  });

  /** The suite's register cases a query returns, by name, in R's order. */
  async function matching(query: string, token = desk.token) {
    const found = new Set(await listKeys(query, token));
    return R.filter((r) => found.has(keys[r]));
  }

  const dayOffset = (day: string, n: number) =>
    new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);

  it('then type, severity and status each give exactly their cases', async () => {
    expect(await matching('type=INC')).toEqual(['r2']);
    expect(await matching('type=SUP')).toEqual(['r1', 'r3', 'r4']);
    expect(await matching('severity=SEV4')).toEqual(['r1']);
    expect(await matching('severity=SEV1')).toEqual(['r2']);
    expect(await matching('severity=SEV2')).toEqual(['r3']);
    expect(await matching('severity=SEV3')).toEqual(['r4']);
    expect(await matching('status=New')).toEqual(['r1', 'r4']);
    expect(await matching('status=Triage')).toEqual(['r2']);
    expect(await matching('status=InProgress')).toEqual(['r3']);
    expect(await matching('status=Closed')).toEqual([]);
  });

  it('then service, owner and vendor each give exactly their cases', async () => {
    expect(await matching('service=portal')).toEqual(['r1']);
    expect(await matching('service=website')).toEqual(['r3']);
    expect(await matching('owner=me')).toEqual(['r1']);
    expect(await matching('owner=me', member.token)).toEqual(['r2']);
    expect(await matching(`owner=${member.id}`)).toEqual(['r2']);
    expect(await matching(`owner=${admin.id}`)).toEqual(['r1']);
    expect(await matching('owner=none')).toEqual(['r3', 'r4']);
    expect(await matching('vendor=yes')).toEqual(['r2']);
    expect(await matching('vendor=no')).toEqual(['r1', 'r3', 'r4']);
    expect(await matching('type=SUP&owner=none&severity=SEV2')).toEqual(['r3']);
  });

  it('then from and to bound the day each case was created, and q finds key, subject and reporter', async () => {
    const first = [...days].sort()[0]!;
    const last = [...days].sort().at(-1)!;
    expect(await matching(`from=${first}&to=${last}`)).toEqual([...R]);
    expect(await matching(`to=${dayOffset(first, -1)}`)).toEqual([]);
    expect(await matching(`from=${dayOffset(last, 1)}`)).toEqual([]);
    expect(await matching(`from=${last}`)).toEqual(R.filter((_, i) => days[i]! >= last));

    expect(await matching(`q=${encodeURIComponent('donation receipts')}`)).toEqual(['r2']);
    expect(await matching(`q=${keys.r4}`)).toEqual(['r4']);
    const reporter = (await get(keys.r3)).reporter.address;
    expect(await matching(`q=${encodeURIComponent(reporter)}`)).toEqual(['r3']);
  });

  it('then a day that is not a calendar day is refused with 400, by the list and by the export', async () => {
    const bad = ['from=2026-13-01', 'to=2026-00-10', 'from=2026-02-30'];
    const answers: unknown[] = [];
    for (const query of bad) {
      const list = await call(desk.token, 'GET', `/api/cases?${query}`);
      answers.push({ query, list: list.status, error: list.body.error });
      // The export streams: a failure after the headers would cut the response short.
      const csv = await fetch(`${desk.url}/api/cases.csv?${query}`, {
        headers: { authorization: `Bearer ${desk.token}` },
      })
        .then(async (res) => ({ status: res.status, body: await res.text() }))
        .catch((err: unknown) => ({ status: `failed: ${String(err)}`, body: '' }));
      answers.push({ query, csv: csv.status });
    }
    expect(answers).toEqual(
      bad.flatMap((query) => [
        { query, list: 400, error: 'bad-query' },
        { query, csv: 400 },
      ]),
    );
  });
});
