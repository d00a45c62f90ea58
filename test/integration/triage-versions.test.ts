import { ofKind, triageDesk } from '../support/triage-desk';

/**
 * Versioned writes on a case opened by real mail: of several writes with the same version exactly
 * one wins, and a write with an older version changes nothing.
 */

const desk = triageDesk('triage-versions', ['race']);
const { keys, call, patch, get } = desk;

describe('when several writes carry the same version at once', () => {
  it('then exactly one PATCH wins, the others get 412 with the current case, and one change is recorded', async () => {
    const key = keys.race;
    const before = await get(key);
    const others = ['SEV1', 'SEV2', 'SEV3', 'SEV4'].filter((s) => s !== before.severity);
    const bodies = Array.from({ length: 8 }, (_, i) => ({
      version: before.version,
      severity: others[i % others.length],
      fields: { service: `Drive ${i}` },
    }));
    const answers = await Promise.all(bodies.map((b) => patch(key, b)));

    expect(answers.map((a) => a.status).sort()).toEqual([200, 412, 412, 412, 412, 412, 412, 412]);
    for (const lost of answers.filter((a) => a.status === 412)) {
      expect(lost.body.error).toBe('version-conflict');
      expect(lost.body.current).toMatchObject({ key, version: before.version + 1 });
    }
    const winner = bodies[answers.findIndex((a) => a.status === 200)]!;
    const after = await get(key);
    expect(after.version).toBe(before.version + 1);
    expect(after.severity).toBe(winner.severity);
    expect(after.fields.service).toBe(winner.fields.service);
    expect(ofKind(after, 'change')).toHaveLength(ofKind(before, 'change').length + 1);
    expect(after.timeline).toHaveLength(before.timeline.length + 1);
  });

  it('then exactly one note is added, and the others get 412', async () => {
    const key = keys.race;
    const before = await get(key);
    const texts = Array.from({ length: 8 }, (_, i) => `Racing note ${i}`);
    const answers = await Promise.all(
      texts.map((text) =>
        call(desk.token, 'POST', `/api/cases/${key}/notes`, { version: before.version, text }),
      ),
    );

    expect(answers.map((a) => a.status).sort()).toEqual([201, 412, 412, 412, 412, 412, 412, 412]);
    for (const lost of answers.filter((a) => a.status === 412)) {
      expect(lost.body.error).toBe('version-conflict');
      expect(lost.body.current?.version).toBe(before.version + 1);
    }
    const after = await get(key);
    expect(after.version).toBe(before.version + 1);
    const notes = ofKind(after, 'note');
    expect(notes).toHaveLength(ofKind(before, 'note').length + 1);
    expect(notes.at(-1)!.note!.text).toBe(texts[answers.findIndex((a) => a.status === 201)]);
    expect(after.timeline).toHaveLength(before.timeline.length + 1);
  });
});

describe('when a write carries an older version', () => {
  it('then a PATCH, a note and a tick answer 412 and change nothing', async () => {
    const key = keys.race;
    const before = await get(key);
    expect(before.version).toBeGreaterThan(0);
    const old = before.version - 1;
    const severity = before.severity === 'SEV1' ? 'SEV4' : 'SEV1';

    const stalePatch = await patch(key, { version: old, severity });
    expect(stalePatch.status).toBe(412);
    expect(stalePatch.body).toMatchObject({
      error: 'version-conflict',
      current: { version: before.version },
    });
    const staleNote = await call(desk.token, 'POST', `/api/cases/${key}/notes`, {
      version: old,
      text: 'Too late',
    });
    expect(staleNote.status).toBe(412);
    const staleTick = await call(desk.token, 'PUT', `/api/cases/${key}/checklist/committee-review`, {
      version: old,
      done: true,
    });
    expect(staleTick.status).toBe(412);

    const after = await get(key);
    expect(after.version).toBe(before.version);
    expect(after.severity).toBe(before.severity);
    expect(after.timeline).toEqual(before.timeline);
    expect(after.checklist).toEqual(before.checklist);
  });
});
