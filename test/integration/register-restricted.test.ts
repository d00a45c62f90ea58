import { ofKind, triageDesk } from '../support/triage-desk';

/**
 * Cases that hold personal data (DEV, DAT) in the register: restricted from the start, a stub to a
 * member in the list, search and CSV, and who may work on them or lift the restriction.
 */

const desk = triageDesk('register-restricted', ['rdev', 'rdat', 'checklist', 'devClose', 'datClose', 'r4']);
const { keys, member, lead, call, patch, get, update, listKeys } = desk;

describe('when a case holds personal data (DEV, DAT)', () => {
  const word = 'quarantined';

  it('then it is restricted from the start, and a member sees only a stub', async () => {
    for (const name of ['rdev', 'rdat', 'checklist', 'devClose', 'datClose'] as const) {
      const c = await get(keys[name]);
      expect({ name, type: c.type, restricted: c.restricted }).toEqual({
        name,
        type: name === 'rdat' || name === 'datClose' ? 'DAT' : 'DEV',
        restricted: true,
      });
    }
    // Restricted by its suggested type on arrival, not by any later change.
    expect(ofKind(await get(keys.rdev), 'change')).toEqual([]);

    const list = await call<{ cases: Record<string, unknown>[] }>(
      member.token,
      'GET',
      '/api/cases?limit=200',
    );
    expect(list.status).toBe(200);
    for (const name of ['rdev', 'rdat'] as const) {
      const stub = list.body.cases.find((c) => c.key === keys[name])!;
      expect(stub).toMatchObject({ key: keys[name], restricted: true, hidden: true });
      expect(stub).not.toHaveProperty('subject');
      expect(stub).not.toHaveProperty('reporter');
      expect(JSON.stringify(stub)).not.toContain(word);
    }
    // An ordinary case is listed in full to the member.
    expect(list.body.cases.find((c) => c.key === keys.r4)).toMatchObject({ subject: expect.any(String) });

    const detail = await call(member.token, 'GET', `/api/cases/${keys.rdev}`);
    expect(detail.status).toBe(403);
    expect(detail.body.error).toBe('case-restricted');
    expect(detail.text).not.toContain(word);
  });

  it('then a search by a word of its subject does not return it to a member, and the CSV hides its subject', async () => {
    expect((await listKeys(`q=${word}`)).sort()).toEqual([keys.rdat, keys.rdev].sort());
    expect(await listKeys(`q=${word}`, member.token)).toEqual([]);

    const csv = await fetch(`${desk.url}/api/cases.csv`, {
      headers: { authorization: `Bearer ${member.token}` },
    });
    expect(csv.status).toBe(200);
    const text = await csv.text();
    expect(text).not.toContain(word);
    const row = text.split('\r\n').find((l) => l.startsWith(`${keys.rdev},`))!;
    expect(row.split(',')).toContain('(restricted)');
    const adminCsv = await (
      await fetch(`${desk.url}/api/cases.csv`, { headers: { authorization: `Bearer ${desk.token}` } })
    ).text();
    expect(adminCsv.split('\r\n').find((l) => l.startsWith(`${keys.rdev},`))).toContain(word);
  });

  it('then a member may not work on it, nor lift the restriction, even once they own it; a lead may', async () => {
    const key = keys.rdev;
    const before = await get(key);
    const notYet = await patch(key, { version: before.version, severity: 'SEV1' }, member.token);
    expect(notYet.status).toBe(403);
    expect(notYet.body.error).toBe('case-restricted');

    const owned = await update(key, { owner: member.id }, lead.token);
    expect(owned.owner).toEqual({ id: member.id, name: member.name });
    expect(owned.timeline.at(-1)!.by).toEqual({ id: lead.id, name: lead.name });

    const full = await get(key, member.token);
    expect(full).toMatchObject({ key, restricted: true, subject: expect.stringContaining(word) });
    expect(await listKeys(`q=${word}`, member.token)).toEqual([key]);
    const listed = await call<{ cases: Record<string, unknown>[] }>(
      member.token,
      'GET',
      '/api/cases?limit=200',
    );
    expect(listed.body.cases.find((c) => c.key === key)).toMatchObject({
      subject: expect.stringContaining(word),
    });
    expect(listed.body.cases.find((c) => c.key === key)).not.toHaveProperty('hidden');

    const lift = await patch(key, { version: full.version, restricted: false }, member.token);
    expect(lift.status).toBe(403);
    expect(lift.body.error).toBe('forbidden');
    expect((await get(key)).restricted).toBe(true);

    const lifted = await update(key, { restricted: false }, lead.token);
    expect(lifted.restricted).toBe(false);
    expect(lifted.timeline.at(-1)).toMatchObject({
      kind: 'change',
      by: { id: lead.id, name: lead.name },
      change: { changes: [{ field: 'restricted', from: true, to: false }] },
    });
  });
});
