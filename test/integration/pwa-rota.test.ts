import { rmSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { addUser, createToken } from '../../server/auth/users';
import { launchChromium } from '../support/browser';
import { startDesk, type Desk } from '../support/desk';
import { uniqueName } from '../support/env';
import { privateBuild, serveBuild } from '../support/pwa';
import { expectAccessibleScreen, h1, phone, signInByLink } from '../support/pwa-page';

/**
 * The weekly on-call rota in the PWA: an admin makes a slot that covers this moment for a member,
 * and the desk then counts that member on call; a member sees the rota but cannot change it.
 */

let desk: Desk;
let dist: string;
let browser: Browser;
let admin: Page;
let member: Page;
let memberId: string;
let memberToken: string;

beforeAll(async () => {
  dist = await privateBuild();
  desk = await startDesk();
  serveBuild(desk, dist);
  const adminEmail = `${uniqueName('admin')}@example.org`.toLowerCase();
  await addUser(adminEmail, 'Ada Admin', 'admin');
  const memberEmail = `${uniqueName('member')}@example.org`.toLowerCase();
  memberId = String((await addUser(memberEmail, 'Oona Oncall', 'member'))._id);
  memberToken = await createToken(memberEmail);
  browser = await launchChromium();
  admin = (await phone(browser)).page;
  member = (await phone(browser)).page;
  await signInByLink(admin, desk, adminEmail);
  await signInByLink(member, desk, memberEmail);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await desk?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

const onCallNow = async () =>
  (await desk.api<{ now: { id: string; name: string; self: boolean }[] }>('/api/oncall')).body.now;

describe('when an admin keeps the on-call rota', () => {
  it('then a slot covering now, saved in the app, puts the member on call at the desk', async () => {
    expect(await onCallNow()).toEqual([]);
    await admin.goto(`${desk.publicUrl}/#/rota`);
    await h1(admin, 'On call').waitFor();
    await admin.getByText('Nobody: urgent cases page the leads only.').waitFor();
    await admin.getByLabel('Time zone').fill('UTC');
    await admin.getByRole('button', { name: 'Add a slot' }).click();
    const day = new Date().getUTCDay();
    await admin.getByLabel('Day').selectOption(String(day));
    // All day: a slot that starts and ends at the same time runs round the clock.
    await admin.getByLabel('From').fill('00:00');
    await admin.getByLabel('Until').fill('00:00');
    await admin.getByLabel('Member').selectOption(memberId);
    await expectAccessibleScreen(admin, 'rota');
    await admin.getByRole('button', { name: 'Save the rota' }).click();
    await admin.getByText('Oona Oncall (by the rota)').waitFor();
    expect(await onCallNow()).toEqual([{ id: memberId, name: 'Oona Oncall', self: false }]);
    const paging = await desk.api<{ onCallNow: boolean; onCall: boolean }>('/api/me/paging', {
      headers: { authorization: `Bearer ${memberToken}` },
    });
    expect(paging.body).toMatchObject({ onCallNow: true, onCall: false });
  });

  it('then a member sees the rota and who is on call, with nothing to change it', async () => {
    await member.goto(`${desk.publicUrl}/#/rota`);
    await h1(member, 'On call').waitFor();
    await member.getByText('Oona Oncall (by the rota)').waitFor();
    await member.getByRole('heading', { name: /^Weekly rota \(UTC\)$/ }).waitFor();
    expect(await member.getByRole('button', { name: 'Save the rota' }).count()).toBe(0);
    const refused = await desk.api('/api/oncall/rota', {
      method: 'PUT',
      headers: { authorization: `Bearer ${memberToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ timeZone: 'UTC', slots: [] }),
    });
    expect(refused.status).toBe(403);
    expect(await onCallNow()).toHaveLength(1);
  });

  it('then a slot for a time zone that does not exist is refused with the reason, and the rota stays', async () => {
    await admin.getByLabel('Time zone').fill('Mars/Olympus');
    await admin.getByRole('button', { name: 'Save the rota' }).click();
    await admin.getByRole('alert').filter({ hasText: 'IANA time zone' }).waitFor();
    expect(await onCallNow()).toHaveLength(1);
  });
});
