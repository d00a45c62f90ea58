import { COMPLETE_CLOSURE, triageDesk } from '../support/triage-desk';

/**
 * Closing a case and reopening it, on cases opened by real mail: the closure gate by type,
 * severity and vendor, a non-case closed from Triage with a reason, and reopening to Triage.
 */

const desk = triageDesk('triage-closure', ['walk', 'supClose', 'incClose', 'datClose', 'devClose', 'spam']);
const { keys, admin, patch, get, update, walk } = desk;

// The follow-up test's case starts in Triage with a complete record, and the non-case in Triage.
beforeAll(async () => {
  await update(keys.walk, { closure: COMPLETE_CLOSURE });
  await walk(keys.walk, 'Triage');
  await walk(keys.spam, 'Triage');
});

describe('when a case is closed, the closure gate depends on its type, severity and vendor', () => {
  const rows = [
    { name: 'supClose', type: 'SUP', severity: 'SEV4', vendor: false, missing: ['rootCause'] },
    {
      name: 'incClose',
      type: 'INC',
      severity: 'SEV1',
      vendor: true,
      missing: ['rootCause', 'vendorActions', 'accountChanges', 'followUps', 'lessons'],
    },
    {
      name: 'datClose',
      type: 'DAT',
      severity: 'SEV3',
      vendor: false,
      missing: ['rootCause', 'accountChanges', 'lessons'],
    },
    {
      name: 'devClose',
      type: 'DEV',
      severity: 'SEV2',
      vendor: false,
      missing: ['rootCause', 'accountChanges', 'followUps', 'lessons'],
    },
  ] as const;

  it('then each report arrived with the type its text suggests', async () => {
    expect((await get(keys.supClose)).type).toBe('SUP');
    expect((await get(keys.incClose)).type).toBe('INC');
    expect((await get(keys.datClose)).type).toBe('DAT');
    expect((await get(keys.devClose)).type).toBe('DEV');
  });

  it.each(rows)(
    'then a $type $severity case (vendor: $vendor) in Monitoring needs exactly $missing, and closes once they are recorded',
    async (row) => {
      const key = keys[row.name];
      await update(key, {
        type: row.type,
        severity: row.severity,
        vendorContact: row.vendor ? { organisation: 'Hosting Co', ticket: 'DO-44391' } : null,
      });
      const inMonitoring = await walk(key, 'Triage', 'InProgress', 'Monitoring');
      expect(inMonitoring).toMatchObject({ status: 'Monitoring', type: row.type, severity: row.severity });
      expect(inMonitoring.vendorInvolved).toBe(row.vendor);
      expect(inMonitoring.closure.required).toEqual(row.missing);
      expect(inMonitoring.closure.missing).toEqual(row.missing);

      const refused = await patch(key, { version: inMonitoring.version, status: 'Closed' });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ error: 'closure-incomplete' });
      expect(refused.body.missing).toEqual(row.missing);
      expect((await get(key)).status).toBe('Monitoring');

      // A follow-up without an owner or a due date is named, required or not.
      const record = Object.fromEntries(
        row.missing.filter((f) => f !== 'followUps').map((f) => [f, COMPLETE_CLOSURE[f]]),
      );
      const partial = await update(key, {
        closure: { ...record, followUps: [{ task: 'Review access', owner: '', due: '' }] },
      });
      const stillRefused = await patch(key, { version: partial.version, status: 'Closed' });
      expect(stillRefused.status).toBe(409);
      expect(stillRefused.body.missing).toEqual(['followUps[0].owner', 'followUps[0].due']);

      // The missing piece and the close in one PATCH: one change entry with both.
      const closed = await patch(key, {
        version: partial.version,
        closure: { followUps: COMPLETE_CLOSURE.followUps },
        status: 'Closed',
      });
      expect(closed.status).toBe(200);
      expect(closed.body).toMatchObject({ status: 'Closed', version: partial.version + 1 });
      expect(closed.body.closure.missing).toEqual([]);
      expect(closed.body.closure.record).toMatchObject({
        ...record,
        followUps: COMPLETE_CLOSURE.followUps,
        closedBy: admin,
        closedAt: expect.any(String),
      });
      expect(closed.body.timeline).toHaveLength(partial.timeline.length + 1);
      expect(
        closed.body.timeline
          .at(-1)!
          .change!.changes.map((c) => c.field)
          .sort(),
      ).toEqual(['closure.followUps', 'status']);
    },
  );

  it('then a follow-up saved with a task alone is reported as lacking its owner and due date', async () => {
    // beforeAll left this case in Triage with a complete record; a SUP SEV3 needs only its root cause.
    const key = keys.walk;
    const inMonitoring = await walk(key, 'InProgress', 'Monitoring');
    expect(inMonitoring.status).toBe('Monitoring');
    const saved = await patch(key, {
      version: inMonitoring.version,
      closure: { followUps: [{ task: 'Check the wiki backups' }] },
    });
    expect({ status: saved.status, error: saved.body.error }).toEqual({ status: 200, error: undefined });
    expect(saved.body.closure.missing).toEqual(['followUps[0].owner', 'followUps[0].due']);
    const refused = await patch(key, { version: saved.body.version, status: 'Closed' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      error: 'closure-incomplete',
      missing: ['followUps[0].owner', 'followUps[0].due'],
    });
  });

  it('then a non-case (spam) closes straight from Triage with a reason alone', async () => {
    const key = keys.spam;
    const inTriage = await get(key);
    expect(inTriage.status).toBe('Triage');
    const refused = await patch(key, { version: inTriage.version, status: 'Closed' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: 'closure-incomplete', missing: ['reason'] });
    expect(refused.body.missing).toEqual(['reason']);

    const closed = await patch(key, {
      version: inTriage.version,
      status: 'Closed',
      reason: 'Spam, not a case',
    });
    expect(closed.status).toBe(200);
    expect(closed.body).toMatchObject({ status: 'Closed', allowedStatuses: [], reopenTo: 'Triage' });
    expect(closed.body.closure.record).toMatchObject({ reason: 'Spam, not a case', closedBy: admin });
    expect(closed.body.closure.record).not.toHaveProperty('rootCause');
  });
});

describe('when a closed case is reopened', () => {
  it('then it needs a reason, goes to Triage only, and the reason is on the timeline', async () => {
    const key = keys.spam;
    const closed = await get(key);
    expect(closed.status).toBe('Closed');

    const noReason = await patch(key, { version: closed.version, status: 'Triage' });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error).toBe('reason-required');

    const elsewhere = await patch(key, { version: closed.version, status: 'InProgress', reason: 'Not spam' });
    expect(elsewhere.status).toBe(409);
    expect(elsewhere.body).toMatchObject({ error: 'illegal-transition', allowed: ['Triage'] });

    const unchanged = await get(key);
    expect(unchanged).toMatchObject({ status: 'Closed', version: closed.version });
    expect(unchanged.timeline).toHaveLength(closed.timeline.length);

    const reason = 'The sender says it was a real question about our shop';
    const reopened = await patch(key, { version: closed.version, status: 'Triage', reason });
    expect(reopened.status).toBe(200);
    expect(reopened.body).toMatchObject({ status: 'Triage', version: closed.version + 1 });
    expect(reopened.body.reopenTo).toBeUndefined();
    expect(reopened.body.closure.record).not.toHaveProperty('closedAt');
    const entry = reopened.body.timeline.at(-1)!;
    expect(entry).toMatchObject({
      kind: 'change',
      by: admin,
      change: { reason, changes: [{ field: 'status', from: 'Closed', to: 'Triage' }] },
    });
  });
});
