import { ofKind, triageDesk } from '../support/triage-desk';

/** The personal-device checklist of seed 000, worked on a case opened by real mail. */

const desk = triageDesk('triage-checklist', ['checklist']);
const { keys, admin, call, get } = desk;

describe('when the committee works the personal-device checklist of seed 000', () => {
  // The procedure's steps in the seed's order, by a word or two of each.
  const SEED_STEPS = [
    /stop .*work on the device/i,
    /disconnect the device/i,
    /tell the committee the same day/i,
    /clean device, change the passwords/i,
    /revoke active sessions/i,
    /record what data, mailboxes or apps/i,
    /rotate shared credentials/i,
    /decide if this is a data incident/i,
    /restore access only after the review/i,
  ];

  it('then each tick is recorded with who and when, one timeline entry each, and unticking works', async () => {
    const key = keys.checklist;
    let c = await get(key);
    expect(c.type).toBe('DEV');
    expect(c.checklist).toHaveLength(SEED_STEPS.length);
    c.checklist.forEach((item, i) => {
      expect(item.label).toMatch(SEED_STEPS[i]!);
      expect(item.done).toBe(false);
    });
    const ticksBefore = ofKind(c, 'checklist').length;
    expect(ticksBefore).toBe(0);

    const started = Date.now();
    for (const item of c.checklist) {
      const res = await call(desk.token, 'PUT', `/api/cases/${key}/checklist/${item.id}`, {
        version: c.version,
        done: true,
      });
      expect(res.status).toBe(200);
      expect(res.body.version).toBe(c.version + 1);
      c = res.body;
    }

    const after = await get(key);
    for (const item of after.checklist) {
      expect(item).toMatchObject({ done: true, by: admin });
      expect(Date.parse(item.at!)).toBeGreaterThanOrEqual(started - 1000);
    }
    const entries = ofKind(after, 'checklist');
    expect(entries.map((e) => e.checklist)).toEqual(
      after.checklist.map((i) => ({ item: i.id, label: i.label, done: true })),
    );
    for (const e of entries) expect(e.by).toEqual(admin);

    const unknown = await call(desk.token, 'PUT', `/api/cases/${key}/checklist/wipe-the-device`, {
      version: after.version,
      done: true,
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe('checklist-item-not-found');

    const first = after.checklist[0]!;
    const unticked = await call(desk.token, 'PUT', `/api/cases/${key}/checklist/${first.id}`, {
      version: after.version,
      done: false,
    });
    expect(unticked.status).toBe(200);
    expect(unticked.body.checklist[0]).toMatchObject({ id: first.id, done: false, by: admin });
    expect(unticked.body.checklist.slice(1).every((i) => i.done)).toBe(true);
    const last = ofKind(unticked.body, 'checklist');
    expect(last).toHaveLength(SEED_STEPS.length + 1);
    expect(last.at(-1)!.checklist).toEqual({ item: first.id, label: first.label, done: false });
  });
});
