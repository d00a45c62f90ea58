import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { addUser, createToken } from '../../server/auth/users';
import { loadPlaybook } from '../../server/cases/playbook';
import { ClockScheduler } from '../../server/clocks/scheduler';
import { storedKeyPager } from '../../server/push/pager';
import { startDesk, testLog, type Desk } from '../support/desk';
import { uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { startPushService, type PushService } from '../support/push-service';
import { privateBuild, screenProblems, serveBuild } from '../support/pwa';
import { expectAccessibleScreen, h1, signInByLink } from '../support/pwa-page';
import { persistentPhone, PushRig, type Phone } from '../support/pwa-push';
import { waitFor } from '../support/wait';

/**
 * Web Push, on call and the case clocks in the PWA, in real headless Chromium against the desk
 * in-process: pushes delivered to the real service worker through DevTools become one notification
 * per case that names the key and severity and nothing else; its Acknowledge button takes the page
 * through the desk; a tap opens the case. The settings screen turns notifications on (and says so
 * when the browser's push service never answers), lists and tests the member's devices, and saves
 * on call and quiet hours. Case rows count down their clocks; the case screen shows the clocks, the
 * breach and review records and the alerts on the timeline. Each is checked on the desk too.
 */

interface Held {
  version: number;
  acknowledged: { by: { id: string; name: string }; at: string } | null;
  clocks: { kind: string; state: string }[];
  breach: { authorityNotified: { reference: string; reason?: string } | null } | null;
  review: { link: string } | null;
  timeline: { kind: string; by?: { id: string } }[];
}

let desk: Desk;
let dist: string;
let push: PushService;
let phone: Phone;
let page: Page;
let rig: PushRig;
let memberId: string;
let memberToken: string;
const tag = uniqueName('push');
const secret = `the payroll server ${tag}`;
/** Urgent, from the sea of mail; late (received 40 minutes ago); a breach of 80 hours ago; fresh. */
let urgentKey: string;
let lateKey: string;
let breachKey: string;
let freshKey: string;

async function newCase(subject: string, minutesAgo = 0): Promise<string> {
  const raw = await compose({ subject, text: 'Please help.' });
  const receivedAt = new Date(Date.now() - minutesAgo * 60_000);
  const result = await desk.intake.ingestOrQuarantine(raw, { kind: 'file', file: 'x.eml', receivedAt });
  if (result.outcome !== 'created') throw new Error(`no case made: ${JSON.stringify(result)}`);
  return result.caseKey;
}

/** The desk's API as the member (bearer), JSON both ways. */
async function asMember<T>(path: string, method = 'GET', body?: unknown, userAgent?: string) {
  return desk.api<T>(path, {
    method,
    headers: {
      authorization: `Bearer ${memberToken}`,
      'content-type': 'application/json',
      ...(userAgent ? { 'user-agent': userAgent } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

const held = async (key: string) => (await desk.api<Held>(`/api/cases/${key}`)).body;

/** Opens a screen afresh (the same address again is a reload, not a hash change). */
async function open(hash: string, heading: string | RegExp): Promise<void> {
  const url = `${desk.publicUrl}/${hash}`;
  if (page.url() === url) await page.reload();
  else await page.goto(url);
  await h1(page, heading).waitFor();
  // The heading shows before the case arrives, and a copy the worker cached on an earlier visit
  // ("as of 10:02") can show before the desk's: what a test types into that copy is lost, or sent
  // with its old version, when the fresh one replaces it. Wait for the desk's own.
  await page.locator('p.freshness').waitFor({ state: 'detached' });
}

beforeAll(async () => {
  dist = await privateBuild();
  push = await startPushService();
  desk = await startDesk();
  serveBuild(desk, dist);
  const email = `${uniqueName('pager')}@example.org`.toLowerCase();
  memberId = String((await addUser(email, 'Pat Pager', 'member'))._id);
  memberToken = await createToken(email);
  urgentKey = await newCase(`Our website is down: ${secret}`);
  lateKey = await newCase(`The booking service is down ${tag}`, 40);
  breachKey = await newCase(`Member list spreadsheet sent to the wrong person ${tag}`, 80 * 60);
  freshKey = await newCase(`Members area is down ${tag}`);
  // A data incident is restricted: the member sees it as its owner.
  const { version } = await held(breachKey);
  await desk.api(`/api/cases/${breachKey}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ version, owner: memberId }),
  });

  phone = await persistentPhone(desk.publicUrl);
  page = phone.page;
  rig = await PushRig.attach(phone, desk.publicUrl);
  await signInByLink(page, desk, email);
  await rig.controlled();
}, 120_000);

afterAll(async () => {
  await phone?.close();
  await desk?.stop();
  await push?.close();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe('when a push for an urgent case reaches the phone', () => {
  const caseTag = () => `case-${urgentKey}`;
  const payload = (alert: string) => ({
    alert,
    key: urgentKey,
    severity: 'SEV1',
    url: `/#/case/${urgentKey}`,
    id: alert,
  });

  it('then one notification shows, tagged with the case, naming its key and severity but not its subject', async () => {
    const [shown, ...more] = await rig.deliverFirst(payload('urgent-case'), caseTag());
    expect(more).toEqual([]);
    expect(shown).toMatchObject({
      title: `SEV1 ${urgentKey}: urgent case`,
      tag: caseTag(),
      requireInteraction: true,
      actions: [{ action: 'ack', title: 'Acknowledge' }],
      data: { alert: 'urgent-case', key: urgentKey },
    });
    expect(`${shown!.title} ${shown!.body}`).not.toContain(secret);
    expect(`${shown!.title} ${shown!.body}`).not.toMatch(/website|payroll/i);
  });

  it('then a second push for the same case replaces the first: still one notification', async () => {
    await rig.deliver(payload('escalation'));
    const shown = await rig.waitForNotifications(
      caseTag(),
      (n) => n.some((x) => x.title.includes('still not acknowledged')),
      'the escalation',
    );
    expect(shown.map((n) => n.title)).toEqual([`SEV1 ${urgentKey}: still not acknowledged`]);
    expect(await rig.notifications()).toHaveLength(1);
  });

  it('then its Acknowledge button takes the page on the desk, as this member, and says so', async () => {
    expect((await held(urgentKey)).acknowledged).toBeNull();
    // The listener hands its work to waitUntil: the press resolves once that work is done.
    expect(await rig.press(caseTag(), 'ack')).toBe(1);
    const c = await held(urgentKey);
    expect(c.acknowledged).toMatchObject({ by: { id: memberId, name: 'Pat Pager' } });
    expect(c.clocks.find((k) => k.kind === 'response')?.state).toBe('met');
    expect(c.timeline.filter((e) => e.kind === 'acknowledged')).toEqual([
      expect.objectContaining({ by: expect.objectContaining({ id: memberId }) }),
    ]);
    const [confirmation, ...more] = await rig.notifications(caseTag());
    expect(more).toEqual([]);
    expect(confirmation).toMatchObject({ title: `${urgentKey} acknowledged`, actions: [] });
  });

  it('then a tap brings the open app to the case', async () => {
    await open('#/settings', 'Settings');
    await rig.deliver({ ...payload('update-due'), key: breachKey, url: `/#/case/${breachKey}` });
    await rig.waitForNotifications(`case-${breachKey}`, (n) => n.length === 1, 'the reminder');
    expect(await rig.press(`case-${breachKey}`, '')).toBe(1);
    await page.waitForURL(`${desk.publicUrl}/#/case/${breachKey}`);
    await h1(page, breachKey).waitFor();
    expect(await rig.notifications(`case-${breachKey}`)).toEqual([]);
  });
});

describe('when the member turns on notifications and the browser’s push service never answers', () => {
  it('then the settings screen says so after about ten seconds, and is accessible', async () => {
    await open('#/settings', 'Settings');
    const turnOn = page.getByRole('button', { name: 'Turn on notifications on this phone' });
    const started = Date.now();
    await turnOn.click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'did not get an answer from its push service' })
      .waitFor();
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(await turnOn.isEnabled()).toBe(true);
    expect(
      (await asMember<{ subscriptions: unknown[] }>('/api/push/subscriptions')).body.subscriptions,
    ).toEqual([]);
    expect(await screenProblems(page, 'settings-notifications')).toEqual([]);
  });
});

describe('when the member has devices', () => {
  const android = 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36';
  const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5; rv:127.0) Gecko/20100101 Firefox/127.0';

  it('then each is listed, a test notification reports each one’s outcome, and one can be removed', async () => {
    const phoneSub = push.newSubscription();
    const laptopSub = push.newSubscription();
    await asMember('/api/push/subscriptions', 'POST', phoneSub, android);
    await asMember('/api/push/subscriptions', 'POST', laptopSub, mac);
    push.respond(laptopSub.endpoint, { status: 410 });
    await open('#/settings', 'Settings');
    const devices = page.getByRole('list', { name: 'Your devices' });
    await devices.getByText('Firefox on Mac').waitFor();
    expect((await devices.locator('li strong').allTextContents()).sort()).toEqual([
      'Chrome on Android',
      'Firefox on Mac',
    ]);

    await page.getByRole('button', { name: 'Send a test notification' }).click();
    const results = page.getByRole('list', { name: 'Test notification results' });
    await results.waitFor();
    expect((await results.locator('li').allTextContents()).sort()).toEqual([
      'Chrome on Android: delivered, 1 attempt',
      'Firefox on Mac: the push service no longer knows it, so it was removed, 1 attempt',
    ]);
    const [delivery] = await push.waitForDeliveries(1);
    expect(delivery!.json).toMatchObject({ alert: 'test' });
    await devices.getByText('Firefox on Mac').waitFor({ state: 'detached' });

    await page.getByRole('button', { name: /^Stop notifications to Chrome on Android/ }).click();
    await page.getByText('No device receives notifications yet.').waitFor();
    expect(
      (await asMember<{ subscriptions: unknown[] }>('/api/push/subscriptions')).body.subscriptions,
    ).toEqual([]);
  });
});

describe('when the member marks themselves on call and keeps quiet hours', () => {
  it('then the desk holds both, in the phone’s own time zone unless changed', async () => {
    await open('#/settings', 'Settings');
    await page.getByRole('checkbox', { name: 'I am on call' }).check();
    await page.getByText('On call now: Pat Pager').waitFor();
    await page.getByRole('checkbox', { name: 'Keep quiet hours' }).check();
    const zone = await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(await page.getByLabel(/^Time zone/).inputValue()).toBe(zone);
    await page.getByLabel(/^Quiet from/).fill('22:30');
    await page.getByLabel(/^Quiet until/).fill('06:45');
    await expectAccessibleScreen(page, 'settings-oncall');
    await page.getByRole('button', { name: 'Save quiet hours' }).click();
    await page.getByText('Quiet hours saved.').waitFor();
    const paging = (await asMember<Record<string, unknown>>('/api/me/paging')).body;
    expect(paging).toMatchObject({
      onCall: true,
      onCallNow: true,
      quietHours: { start: '22:30', end: '06:45', timeZone: zone },
    });
  });
});

describe('when cases have clocks running', () => {
  it('then the inbox counts down the reply, says how long a response is overdue, and who acknowledged', async () => {
    await open('#/', 'Inbox');
    const row = (key: string) => page.locator('ul.cases a', { has: page.locator('.key', { hasText: key }) });
    await row(freshKey)
      .getByText(/^reply due in 1[45] min$/)
      .waitFor();
    await row(lateKey)
      .getByText(/^response overdue 2\d min$/)
      .waitFor();
    await row(urgentKey).getByText('acknowledged by Pat Pager').waitFor();
  });

  it('then the register’s “SLA breached only” shows only the cases with a deadline passed', async () => {
    await open(`#/register?q=${tag}`, 'Register');
    await page.getByRole('checkbox', { name: /^SLA breached only/ }).check();
    await page.getByRole('button', { name: 'Show cases' }).click();
    await page.waitForURL(/sla=breached/);
    const want = [lateKey, breachKey].sort();
    await waitFor(
      'the breached cases',
      async () => {
        const shown = (await page.locator('ul.cases .key').allTextContents()).sort();
        return JSON.stringify(shown) === JSON.stringify(want);
      },
      15_000,
    ).catch(() => undefined);
    expect((await page.locator('ul.cases .key').allTextContents()).sort()).toEqual(want);
  });
});

describe('when the member opens an urgent case nobody has acknowledged, after its page went out', () => {
  beforeAll(async () => {
    await asMember('/api/me/paging', 'PATCH', { onCall: true });
    await asMember('/api/push/subscriptions', 'POST', push.newSubscription(), 'Pager Phone');
    const clocks = new ClockScheduler({
      pager: storedKeyPager(testLog),
      playbook: loadPlaybook(),
      log: testLog,
      instanceId: uniqueName('clocks'),
    });
    await clocks.tick();
    await clocks.stop();
  });

  it('then its clocks, the alert with its outcome, and Acknowledge are on the screen, accessibly', async () => {
    await open(`#/case/${freshKey}`, freshKey);
    const clocks = page.getByRole('region', { name: 'Clocks' });
    await clocks.getByText(/^reply due in \d+ min$/).waitFor();
    const alert = page.locator('.timeline li', {
      has: page.getByRole('heading', { name: 'Alert: urgent case' }),
    });
    await alert.getByText(/Pushed to .*Pat Pager.*; devices: 1 delivered\./).waitFor();
    await expectAccessibleScreen(page, 'case-clocks');

    await clocks.getByRole('button', { name: 'Acknowledge' }).click();
    await clocks.getByText(/^Acknowledged by Pat Pager at /).waitFor();
    await clocks.getByText('reply done').waitFor();
    // Updates are owed from the response on.
    await clocks.getByText('update due in 30 min').waitFor();
    expect((await held(freshKey)).acknowledged?.by.id).toBe(memberId);
    await page.locator('.timeline').getByText('Pat Pager took the page.').waitFor();
  });
});

describe('when a personal-data breach is notified to the authority after the 72 hours', () => {
  it('then the desk refuses it without the reasons, and keeps it with them', async () => {
    await open(`#/case/${breachKey}`, breachKey);
    const form = page.getByRole('form', { name: 'Breach record' });
    await form.getByLabel('Authority notified at').fill(await anHourAgo());
    await form.getByLabel('Authority’s reference').fill('DPA-2026-0042');
    await form.getByRole('button', { name: 'Save breach record' }).click();
    await form
      .getByRole('alert')
      .getByText(/more than 72 hours after awareness/)
      .waitFor();
    expect((await held(breachKey)).breach?.authorityNotified).toBeNull();

    await form.getByLabel(/^Reasons for notifying after 72 hours/).fill('The export was found on Monday.');
    await form.getByRole('button', { name: 'Save breach record' }).click();
    await page.getByText(/reference DPA-2026-0042, by Pat Pager/).waitFor();
    const c = await held(breachKey);
    expect(c.breach?.authorityNotified).toMatchObject({
      reference: 'DPA-2026-0042',
      reason: 'The export was found on Monday.',
    });
    expect(c.clocks.find((k) => k.kind === 'breach')?.state).toBe('stopped');
    await page.getByRole('region', { name: 'Clocks' }).getByText('authority notified').waitFor();
    expect(await screenProblems(page, 'case-breach-record')).toEqual([]);
  });
});

describe('when an urgent case is resolved', () => {
  it('then its post-incident review is due, and the link recorded is on the case and the desk', async () => {
    for (const status of ['Triage', 'InProgress', 'Monitoring']) {
      const { version } = await held(lateKey);
      const res = await desk.api(`/api/cases/${lateKey}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ version, status }),
      });
      expect({ status, answer: res.status }).toEqual({ status, answer: 200 });
    }
    await open(`#/case/${lateKey}`, lateKey);
    await page
      .getByRole('region', { name: 'Clocks' })
      .getByText(/^post-incident review due in \d+ d/)
      .waitFor();
    const form = page.getByRole('form', { name: 'Post-incident review' });
    await form.getByLabel(/^Link to the review/).fill('https://wiki.example.org/reviews/booking-outage');
    await form.getByRole('button', { name: 'Record the review' }).click();
    await page.getByRole('link', { name: 'https://wiki.example.org/reviews/booking-outage' }).waitFor();
    expect((await held(lateKey)).review).toMatchObject({
      link: 'https://wiki.example.org/reviews/booking-outage',
    });
  });
});

/** An hour ago as a datetime-local value in the phone's zone: past the 72 hours, and not in the future. */
function anHourAgo(): Promise<string> {
  return page.evaluate(() => {
    const d = new Date(Date.now() - 3600_000);
    const p = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
  });
}
