import { rmSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { addUser } from '../../server/auth/users';
import { launchChromium } from '../support/browser';
import { startDesk, type Desk } from '../support/desk';
import { uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { privateBuild, serveBuild } from '../support/pwa';
import { expectAccessibleScreen, h1, phone, signInByLink } from '../support/pwa-page';

/**
 * What a member sees of the storm guard and the mailbox's kinds of mail, in real headless
 * Chromium at a phone's size: a storm case in the inbox with its count, the storm case itself,
 * a message split out of it into a case of its own, a monitoring alert's case and a case imported
 * from the mailbox's history.
 */

interface Held {
  key: string;
  storm: { messages: number } | null;
  links: { key: string; relation: string }[];
  timeline: { id: string; kind: string; email?: { direction: string; subject: string } }[];
}

let desk: Desk;
let dist: string;
let browser: Browser;
let lead: Page;
let stormKey: string;
let alertKey: string;
let historyKey: string;
// A long address and long subjects, as real mail has.
const sender = `the-communications-and-outreach-team-${uniqueName('c')}@volunteers.example.org`.toLowerCase();

async function ingest(subject: string, opts: { from?: string; history?: boolean; auto?: boolean } = {}) {
  const raw = await compose({
    from: opts.from ?? sender,
    subject,
    text: `${subject}. Could you have a look when you have a minute?`,
    headers: opts.auto ? { 'Auto-Submitted': 'auto-generated' } : {},
  });
  const result = await desk.intake.ingestOrQuarantine(raw, { kind: 'file', history: opts.history });
  if (result.outcome !== 'created' && result.outcome !== 'appended')
    throw new Error(`not on a case: ${JSON.stringify(result)}`);
  return result.caseKey;
}

const held = async (key: string) => (await desk.api<Held>(`/api/cases/${key}`)).body;

beforeAll(async () => {
  dist = await privateBuild();
  desk = await startDesk({ alertSenders: ['@monitor.example'] });
  serveBuild(desk, dist);
  for (let i = 1; i <= 5; i++)
    await ingest(`A small correction to the newsletter draft, number ${i} of many`);
  stormKey = await ingest('The photo credits on the spring concert page are missing again, sorry');
  await ingest('One more: the footer of the volunteer sign-up form shows last year’s date');
  await ingest('And the map link on the directions page opens the wrong venue entirely');
  alertKey = await ingest('DOWN: https://www.example.org/donate is not responding (timeout after 30 s)', {
    from: 'uptime-checks@monitor.example',
    auto: true,
  });
  historyKey = await ingest('Old report from last spring: a lost badge', { history: true });
  const leadEmail = `${uniqueName('lead')}@example.org`.toLowerCase();
  await addUser(leadEmail, 'Lena Lead', 'lead');
  browser = await launchChromium();
  lead = (await phone(browser)).page;
  await signInByLink(lead, desk, leadEmail);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await desk?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe('when a sender’s storm has its own case', () => {
  it('then the inbox shows it with how many messages it holds', async () => {
    expect((await held(stormKey)).storm?.messages).toBe(3);
    const row = lead.locator('a.case-row', { hasText: stormKey });
    await row.getByText('Storm · 3 messages').waitFor();
    await row.getByText('Monitoring alert').waitFor({ state: 'detached' });
    await lead.locator('a.case-row', { hasText: alertKey }).getByText('Monitoring alert').waitFor();
    await row.scrollIntoViewIfNeeded();
    await expectAccessibleScreen(lead, 'inbox-storm');
  });

  it('then the storm case says what it is, and a message split out of it opens as a case of its own', async () => {
    await lead.goto(`${desk.publicUrl}/#/case/${stormKey}`);
    await h1(lead, stormKey).waitFor();
    await lead.getByText(/^Storm: .* sent more than five new reports within an hour/).waitFor();
    await expectAccessibleScreen(lead, 'storm-case');
    const splits = lead.getByRole('button', { name: 'Split into a case of its own' });
    expect(await splits.count()).toBe(3);
    await splits.nth(1).scrollIntoViewIfNeeded();
    await expectAccessibleScreen(lead, 'storm-case-messages');
    await splits.nth(1).click();
    await lead.waitForURL((url) => !url.hash.endsWith(stormKey));
    const newKey = decodeURIComponent(new URL(lead.url()).hash.replace('#/case/', ''));
    await h1(lead, newKey).waitFor();
    await expectAccessibleScreen(lead, 'split-case');

    const split = await held(newKey);
    expect(split.links).toEqual([{ key: stormKey, relation: 'split-from' }]);
    const storm = await held(stormKey);
    expect(storm.storm?.messages).toBe(2);
    const left = storm.timeline.filter((e) => e.kind === 'email').map((e) => e.email!.subject);
    const moved = split.timeline.filter((e) => e.kind === 'email').map((e) => e.email!.subject);
    expect(moved).toHaveLength(1);
    expect(left).not.toContain(moved[0]);
  });
});

describe('when a member opens a monitoring alert and a case imported from history', () => {
  it('then each says where it came from', async () => {
    await lead.goto(`${desk.publicUrl}/#/case/${alertKey}`);
    await h1(lead, alertKey).waitFor();
    await lead.getByText(/^Monitoring alert:/).waitFor();
    await expectAccessibleScreen(lead, 'alert-case');
    await lead.goto(`${desk.publicUrl}/#/case/${historyKey}`);
    await h1(lead, historyKey).waitFor();
    await lead.getByText(/^Imported history:/).waitFor();
    await lead.getByText(/^Imported history:/).scrollIntoViewIfNeeded();
    await expectAccessibleScreen(lead, 'history-case');
  });
});
