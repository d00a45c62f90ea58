import { rmSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { addUser } from '../../server/auth/users';
import { startDesk, type Desk } from '../support/desk';
import { uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { startNotificationShade, type NotificationShade } from '../support/notification-shade';
import { privateBuild, serveBuild } from '../support/pwa';
import { h1, signInByLink } from '../support/pwa-page';
import { persistentPhone, PushRig, type Phone } from '../support/pwa-push';
import { waitFor } from '../support/wait';

/**
 * A tap on a case's notification when no window of the app is open, in real headless Chromium
 * against the desk in-process: the push arrives after the app's window was closed and its service
 * worker stopped, as on a phone in a pocket; the notification shows on the phone's notification
 * shade (a real D-Bus notification server, test/support/notification-shade.ts); a tap there is a
 * real click, which Chromium hands to the worker as a trusted notificationclick, and the worker
 * opens a new window on the case (clients.openWindow), signed in, showing the case.
 */

let desk: Desk;
let dist: string;
let shade: NotificationShade;
let phone: Phone;
let rig: PushRig;
const secret = `the treasurer's laptop ${uniqueName('closed')}`;
let caseKey: string;

/** The pages of the desk's origin: the app's windows. */
const appWindows = () => phone.context.pages().filter((p) => p.url().startsWith(desk.publicUrl));

beforeAll(async () => {
  dist = await privateBuild();
  desk = await startDesk();
  serveBuild(desk, dist);
  shade = await startNotificationShade();
  const email = `${uniqueName('night')}@example.org`.toLowerCase();
  await addUser(email, 'Nia Night', 'member');
  const raw = await compose({ subject: `Our website is down: ${secret}`, text: 'Please help.' });
  const made = await desk.intake.ingestOrQuarantine(raw, {
    kind: 'file',
    file: 'x.eml',
    receivedAt: new Date(),
  });
  if (made.outcome !== 'created') throw new Error(`no case made: ${JSON.stringify(made)}`);
  caseKey = made.caseKey;

  phone = await persistentPhone(desk.publicUrl, { env: { DBUS_SESSION_BUS_ADDRESS: shade.busAddress } });
  // A page of another origin, left open when the app's window closes (as a phone's other apps
  // are): DevTools, which delivers the pushes, is reached through it.
  const elsewhere = await phone.context.newPage();
  rig = await PushRig.attach(phone, desk.publicUrl, elsewhere);
  await signInByLink(phone.page, desk, email);
  await rig.controlled();
}, 120_000);

afterAll(async () => {
  await phone?.close();
  await shade?.close();
  await desk?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe('when no window of the app is open and a push for an urgent case arrives', () => {
  it('then a tap on its notification opens a new window on the case, which shows it', async () => {
    await phone.page.close();
    expect(appWindows()).toEqual([]);
    await rig.stopWorker();

    const title = `SEV1 ${caseKey}: urgent case`;
    const payload = {
      alert: 'urgent-case',
      key: caseKey,
      severity: 'SEV1',
      url: `/#/case/${caseKey}`,
      id: uniqueName('alert'),
    };
    // The push starts the stopped worker, which shows the notification on the shade.
    const shown = await rig.deliverUntil(payload, () =>
      shade.notifications.find((n) => !n.closed && n.summary === title),
    );
    expect(shown.actions).toContain('default');
    expect(`${shown.summary} ${shown.body}`).not.toContain(secret);
    expect(appWindows()).toEqual([]);

    // The member taps it later, when the worker has stopped again.
    await rig.stopWorker();
    const opened = phone.context.waitForEvent('page');
    shade.tap(shown);
    const page: Page = await opened;
    page.setDefaultTimeout(30_000);
    await page.waitForURL(`${desk.publicUrl}/#/case/${caseKey}`);
    await h1(page, caseKey).waitFor();
    expect(appWindows()).toEqual([page]);
    // The tapped notification is closed: it has done its work.
    await waitFor('the notification to close', () => shown.closed);
  });
});
