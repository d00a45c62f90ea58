import { ofKind, triageDesk } from '../support/triage-desk';

/**
 * What triage writes on a case opened by real mail, and how the timeline records it: several
 * fields in one PATCH, notes, vendor updates, and the per-type fields.
 */

const desk = triageDesk('triage-fields', ['fields', 'notes']);
const { keys, admin, member, call, patch, get, update } = desk;

describe('when one PATCH changes several fields', () => {
  it('then the timeline gets one change entry listing each field from and to, with who and when', async () => {
    const key = keys.fields;
    const before = await get(key);
    const severity = before.severity === 'SEV2' ? 'SEV3' : 'SEV2';
    const started = Date.now();
    const res = await patch(key, {
      version: before.version,
      severity,
      owner: member.email,
      personalData: true,
      fields: { service: 'Google Drive' },
    });
    const finished = Date.now();
    expect(res.status).toBe(200);
    expect(res.body.timeline).toHaveLength(before.timeline.length + 1);
    const entry = res.body.timeline.at(-1)!;
    expect(entry.kind).toBe('change');
    expect(entry.by).toEqual(admin);
    expect(entry.by!.name).toBe('Test Admin');
    const at = Date.parse(entry.at);
    expect(at).toBeGreaterThanOrEqual(started - 1000);
    expect(at).toBeLessThanOrEqual(finished + 1000);
    const changes = [...entry.change!.changes].sort((a, b) => a.field.localeCompare(b.field));
    expect(changes).toEqual([
      { field: 'fields.service', from: before.fields.service ?? null, to: 'Google Drive' },
      { field: 'owner', from: null, to: { id: member.id, name: member.name } },
      { field: 'personalData', from: false, to: true },
      { field: 'severity', from: before.severity, to: severity },
    ]);
    expect(res.body).toMatchObject({
      severity,
      personalData: true,
      owner: { id: member.id, name: member.name },
      version: before.version + 1,
    });
  });
});

describe('when notes and vendor updates are recorded', () => {
  it('then a note is on the timeline with who wrote it', async () => {
    const key = keys.notes;
    const before = await get(key);
    const res = await call(desk.token, 'POST', `/api/cases/${key}/notes`, {
      version: before.version,
      text: 'Asked the comms team which tool they use.',
    });
    expect(res.status).toBe(201);
    expect(res.body.version).toBe(before.version + 1);
    expect(res.body.timeline.at(-1)).toMatchObject({
      kind: 'note',
      by: admin,
      note: { text: 'Asked the comms team which tool they use.' },
      at: expect.any(String),
    });
  });

  it('then the first vendor update records the vendor contact, so the closure needs vendor actions', async () => {
    const key = keys.notes;
    const before = await get(key);
    expect(before.vendorInvolved).toBe(false);
    expect(before.closure.required).not.toContain('vendorActions');

    const first = await call(desk.token, 'POST', `/api/cases/${key}/vendor-updates`, {
      version: before.version,
      vendor: 'Mailer Inc',
      reference: 'MI-5521',
      text: 'We are looking into your account settings.',
    });
    expect(first.status).toBe(201);
    expect(first.body.timeline.at(-1)).toMatchObject({
      kind: 'vendor-update',
      by: admin,
      vendorUpdate: {
        vendor: 'Mailer Inc',
        reference: 'MI-5521',
        text: 'We are looking into your account settings.',
      },
    });
    expect(first.body).toMatchObject({
      vendorInvolved: true,
      vendorContact: { organisation: 'Mailer Inc', ticket: 'MI-5521' },
    });
    expect(first.body.closure.required).toContain('vendorActions');

    const second = await call(desk.token, 'POST', `/api/cases/${key}/vendor-updates`, {
      version: first.body.version,
      vendor: 'Other Vendor',
      reference: 'OV-1',
      text: 'Not ours.',
    });
    expect(second.status).toBe(201);
    expect(second.body.vendorContact).toEqual(first.body.vendorContact);
    expect(ofKind(second.body, 'vendor-update')).toHaveLength(2);
  });
});

describe('when the per-type fields, the type or a field id are set', () => {
  it('then a field filled in leaves missingFields, and clearing it puts it back', async () => {
    const key = keys.notes;
    const before = await get(key);
    expect(before.missingFields.map((f) => f.id)).toContain('service');
    const filled = await update(key, { fields: { service: 'Member portal' } });
    expect(filled.fields.service).toBe('Member portal');
    expect(filled.missingFields.map((f) => f.id)).not.toContain('service');
    expect(filled.missingFields.length).toBe(before.missingFields.length - 1);
    expect((await get(key)).missingFields.map((f) => f.id)).not.toContain('service');

    const cleared = await update(key, { fields: { service: null } });
    expect(cleared.missingFields.map((f) => f.id)).toContain('service');
    await update(key, { fields: { service: 'Member portal' } });
  });

  it('then an unknown field id, an unknown type or an empty vendor contact is a 400, changing nothing', async () => {
    const key = keys.notes;
    const before = await get(key);
    const field = await patch(key, { version: before.version, fields: { shoeSize: '42' } });
    expect(field.status).toBe(400);
    expect(field.body.error).toBe('unknown-field');
    const type = await patch(key, { version: before.version, type: 'XYZ' });
    expect(type.status).toBe(400);
    expect(type.body.error).toBe('unknown-type');
    // An empty vendor contact would count as "vendor involved" with nobody named: refused.
    const vendor = await patch(key, { version: before.version, vendorContact: {} });
    expect(vendor.status).toBe(400);
    expect(vendor.body.error).toBe('bad-body');
    const after = await get(key);
    expect(after).toMatchObject({ version: before.version, type: before.type });
    expect(after.fields).toEqual(before.fields);
  });
});
