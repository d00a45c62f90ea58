import { rmSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { addUser, createToken } from '../../server/auth/users';
import { addVirtualAuthenticator, launchChromium } from '../support/browser';
import { startDesk, type Desk } from '../support/desk';
import { uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { privateBuild, serveBuild } from '../support/pwa';
import { expectAccessibleScreen, expectRows, focusedRow, h1, phone, signInByLink } from '../support/pwa-page';

/**
 * The PWA's everyday work in real headless Chromium, at a phone's size, against the desk
 * in-process with its real database: the missing required fields, the vendor contact and a
 * vendor update, closing a non-case and reopening it, the register's pages and filters, a
 * second session ended from the first, a passkey removed, and a restricted case seen by a member
 * who may not read it. Each flow is checked on the page and in what the desk then holds.
 */

/** A case as the desk's API returns it, as far as these tests read it. */
interface Held {
  key: string;
  type: string;
  status: string;
  restricted?: boolean;
  version: number;
  vendorContact: Record<string, string> | null;
  fields: Record<string, string>;
  missingFields: { id: string; label: string }[];
  closure: { record: { reason?: string } | null };
  timeline: {
    kind: string;
    change?: { changes: { field: string; to: unknown }[]; reason?: string };
    vendorUpdate?: { vendor: string; reference?: string; text: string };
  }[];
}
type CasePage = { cases: Held[]; next: number | null };

let desk: Desk;
let dist: string;
let browser: Browser;
/** A lead, who sees every case; and a member, who is neither lead nor owner of the restricted one. */
let lead: Page;
let member: Page;
let memberEmail: string;
let memberToken: string;
let workKey: string;
let spamKey: string;
let restrictedKey: string;
/** The register's cases: all carry `registerTag`; the last three are phishing reports. */
let registerKeys: string[];
let phishingKeys: string[];
const tag = uniqueName('work');
const registerTag = uniqueName('reg');
const restrictedSubject = `My laptop was stolen on the train ${tag}`;

async function newCase(subject: string, text = 'Could you have a look?'): Promise<string> {
  const raw = await compose({ subject, text });
  const result = await desk.intake.ingestOrQuarantine(raw, { kind: 'file', file: 'x.eml' });
  if (result.outcome !== 'created') throw new Error(`no case made: ${JSON.stringify(result)}`);
  return result.caseKey;
}

/** The case as the desk holds it, asked as the admin, or as the member with `token`. */
async function held(key: string, token?: string) {
  const init = token ? { headers: { authorization: `Bearer ${token}` } } : {};
  return desk.api<Held>(`/api/cases/${key}`, init);
}

const caseLink = (page: Page, key: string) => page.getByRole('link', { name: new RegExp(`^${key}(?!\\d)`) });

async function openCase(page: Page, key: string): Promise<void> {
  await page.goto(`${desk.publicUrl}/#/case/${key}`);
  await h1(page, key).waitFor();
}

beforeAll(async () => {
  dist = await privateBuild();
  desk = await startDesk();
  serveBuild(desk, dist);
  const leadEmail = `${uniqueName('lead')}@example.org`.toLowerCase();
  await addUser(leadEmail, 'Lena Lead', 'lead');
  memberEmail = `${uniqueName('member')}@example.org`.toLowerCase();
  await addUser(memberEmail, 'Mo Member', 'member');
  memberToken = await createToken(memberEmail);

  workKey = await newCase(`Please add our choir to the events calendar ${tag}`);
  spamKey = await newCase(`You have won a cruise ${tag}`);
  restrictedKey = await newCase(restrictedSubject, 'Everything was on it.');
  registerKeys = [];
  for (let i = 1; i <= 27; i++)
    registerKeys.push(await newCase(`Question ${i} about the rota ${registerTag}`));
  phishingKeys = [];
  for (let i = 1; i <= 3; i++)
    phishingKeys.push(await newCase(`Suspicious email asking for my password ${i} ${registerTag}`));
  registerKeys.push(...phishingKeys);

  browser = await launchChromium();
  lead = (await phone(browser)).page;
  const { context, page } = await phone(browser);
  member = page;
  await addVirtualAuthenticator(context, member);
  await signInByLink(lead, desk, leadEmail);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await desk?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe('when the lead fills in what a case still needs', () => {
  it('then the fields saved leave the list of missing ones, on the page and on the desk', async () => {
    const before = (await held(workKey)).body.missingFields;
    expect(before.map((f) => f.id)).toEqual(expect.arrayContaining(['service', 'summary']));
    await openCase(lead, workKey);
    const missing = lead.getByRole('form', { name: 'Required information still missing' });
    await missing.waitFor();
    await expectAccessibleScreen(lead, 'missing-fields');

    await missing.getByLabel('Service', { exact: true }).fill('The events calendar on our website');
    await missing.getByLabel('Summary', { exact: true }).fill('Add the choir’s spring concerts.');
    await missing.getByRole('button', { name: 'Save the information' }).click();
    await missing.getByLabel('Service', { exact: true }).waitFor({ state: 'detached' });

    const left = before.filter((f) => f.id !== 'service' && f.id !== 'summary');
    expect(left.length).toBeGreaterThan(0);
    const after = (await held(workKey)).body;
    expect(after.missingFields).toEqual(left);
    expect(after.fields).toMatchObject({
      service: 'The events calendar on our website',
      summary: 'Add the choir’s spring concerts.',
    });
    // What is still missing is still asked for, and nothing else.
    expect(await missing.locator('label').allTextContents()).toEqual(left.map((f) => f.label));
    await lead
      .locator('.timeline')
      .getByText('service: (none) → The events calendar on our website')
      .waitFor();
  });
});

describe('when the lead records the vendor contact and what the vendor said', () => {
  it('then both are on the timeline and on the desk, the update with the vendor’s reference', async () => {
    await lead.getByText('Vendor contact (none yet)').click();
    const form = lead.getByRole('form', { name: 'Vendor contact' });
    await form.getByLabel('Vendor organisation').fill('Calendarly Ltd');
    await form.getByLabel('Contact name').fill('Ana Support');
    await form.getByLabel('Vendor ticket').fill('CAL-4411');
    await form.getByRole('button', { name: 'Save vendor contact' }).click();
    await lead.locator('dl.facts').getByText('Calendarly Ltd · Ana Support · CAL-4411').waitFor();

    await lead.getByRole('radio', { name: 'Vendor update' }).check();
    // The contact just saved names the vendor and its ticket, so a phone user need not type them again.
    expect(await lead.getByLabel(/^Vendor \(required\)$/).inputValue()).toBe('Calendarly Ltd');
    expect(await lead.getByLabel("Vendor's reference").inputValue()).toBe('CAL-4411');
    await lead.getByLabel('What the vendor said').fill('The choir’s events are imported; they show tonight.');
    await expectAccessibleScreen(lead, 'vendor-update');
    await lead.getByRole('button', { name: 'Record vendor update' }).click();
    const entry = lead.locator('.timeline li').filter({
      has: lead.getByRole('heading', { name: 'Vendor update: Calendarly Ltd (CAL-4411)' }),
    });
    await entry.getByText('The choir’s events are imported; they show tonight.').waitFor();
    await lead
      .locator('.timeline')
      .getByText(/vendorContact: \(none\) → .*Calendarly Ltd/)
      .waitFor();

    const c = (await held(workKey)).body;
    expect(c.vendorContact).toEqual({
      organisation: 'Calendarly Ltd',
      name: 'Ana Support',
      ticket: 'CAL-4411',
    });
    expect(c.timeline.filter((e) => e.kind === 'vendor-update').map((e) => e.vendorUpdate)).toEqual([
      {
        vendor: 'Calendarly Ltd',
        reference: 'CAL-4411',
        text: 'The choir’s events are imported; they show tonight.',
      },
    ]);
  });
});

describe('when the lead closes a report that is not a case, and then reopens it', () => {
  beforeAll(async () => {
    const { body } = await held(spamKey);
    await desk.api(`/api/cases/${spamKey}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: body.version, status: 'Triage' }),
    });
  });

  it('then closing from Triage needs only a reason, and the desk keeps it', async () => {
    await openCase(lead, spamKey);
    await lead.getByRole('heading', { name: 'Status: Triage' }).waitFor();
    const close = lead.getByRole('button', { name: 'Close as not a case' });
    expect(await close.isDisabled()).toBe(true);
    await lead.getByLabel('Why it is not a case (spam, a duplicate…)').fill('Prize spam, not a report.');
    await close.click();
    await lead.getByRole('heading', { name: 'Status: Closed' }).waitFor();
    await lead.locator('.timeline').getByText('Reason: Prize spam, not a report.').waitFor();
    await expectAccessibleScreen(lead, 'closed-not-a-case');
    const c = (await held(spamKey)).body;
    expect(c).toMatchObject({
      status: 'Closed',
      closure: { record: { reason: 'Prize spam, not a report.' } },
    });
  });

  it('then reopening is not sent without a reason of its own, and with one it goes back to Triage', async () => {
    const why = lead.getByLabel('Why reopen it');
    const reopen = lead.getByRole('button', { name: 'Reopen' });
    // The reason for closing is not offered as the reason for reopening.
    expect(await why.inputValue()).toBe('');
    expect(await reopen.isDisabled()).toBe(true);
    await why.fill('   ');
    expect(await reopen.isDisabled()).toBe(true);
    const closed = (await held(spamKey)).body;
    expect(closed.status).toBe('Closed');
    // Were it sent without one, the desk would refuse it.
    const refused = await desk.api<{ error: string }>(`/api/cases/${spamKey}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: closed.version, status: 'Triage' }),
    });
    expect(refused).toMatchObject({ status: 400, body: { error: 'reason-required' } });

    await why.fill('The reporter wrote back: the prize mail asked for their password.');
    await reopen.click();
    await lead.getByRole('heading', { name: 'Status: Triage' }).waitFor();
    await lead
      .locator('.timeline')
      .getByText('Reason: The reporter wrote back: the prize mail asked for their password.')
      .waitFor();
    const c = (await held(spamKey)).body;
    expect(c.status).toBe('Triage');
    expect(c.timeline.at(-1)?.change?.reason).toBe(
      'The reporter wrote back: the prize mail asked for their password.',
    );
  });
});

describe('when the lead pages through the register and filters it', () => {
  const keysOf = (p: { body: CasePage }) => p.body.cases.map((c) => c.key);

  it('then the next page shows the older cases the desk lists there, and Previous page returns', async () => {
    const [first, second] = await Promise.all(
      [0, 25].map((at) => desk.api<CasePage>(`/api/cases?q=${registerTag}&limit=25&offset=${at}`)),
    );
    expect(first!.body).toMatchObject({ next: 25 });
    expect(second!.body).toMatchObject({ next: null });
    expect([...keysOf(first!), ...keysOf(second!)].sort()).toEqual([...registerKeys].sort());

    await lead.getByRole('link', { name: 'Register' }).click();
    await h1(lead, 'Register').waitFor();
    await lead.getByLabel('Search key, subject or reporter').fill(registerTag);
    await lead.getByRole('button', { name: 'Show cases' }).click();
    await expectRows(lead, keysOf(first!));
    await lead.getByText('1–25', { exact: true }).waitFor();
    expect(await lead.getByRole('button', { name: 'Previous page' }).isDisabled()).toBe(true);

    await lead.getByRole('button', { name: 'Next page' }).click();
    await expectRows(lead, keysOf(second!));
    await lead.getByText('26–30', { exact: true }).waitFor();
    // The new page is shown from its first case, not from the buttons at its end.
    expect(await focusedRow(lead)).toEqual({ key: keysOf(second!)[0], inView: true });
    expect(await lead.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await expectAccessibleScreen(lead, 'register-page-2');

    await lead.getByRole('button', { name: 'Previous page' }).click();
    await expectRows(lead, keysOf(first!));
    expect(await focusedRow(lead)).toEqual({ key: keysOf(first!)[0], inView: true });
  });

  it('then a filter by type shows exactly the cases of that type', async () => {
    const phishing = await desk.api<CasePage>(`/api/cases?q=${registerTag}&type=PHI`);
    expect([...keysOf(phishing)].sort()).toEqual([...phishingKeys].sort());

    await lead.getByText('More filters').click();
    await lead.getByLabel('Type', { exact: true }).selectOption('PHI');
    await lead.getByRole('button', { name: 'Show cases' }).click();
    await expectRows(lead, keysOf(phishing));
    expect(await lead.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    expect(new URL(lead.url()).hash).toBe(`#/register?q=${registerTag}&type=PHI`);
    await expectAccessibleScreen(lead, 'register-filtered');
  });
});

describe('when a member who is neither owner nor lead meets a restricted case', () => {
  it('then the desk made it restricted from the start, and tells the member no more than that it exists', async () => {
    expect((await held(restrictedKey)).body).toMatchObject({ type: 'DEV', restricted: true });
    const refused = await held(restrictedKey, memberToken);
    expect(refused).toMatchObject({ status: 403, body: { error: 'case-restricted' } });
    expect(JSON.stringify(refused.body)).not.toContain('laptop was stolen');
  });

  it('then the inbox shows a stub without the subject, and opening it says it is restricted', async () => {
    await signInByLink(member, desk, memberEmail);
    const row = caseLink(member, restrictedKey);
    await row.waitFor();
    expect(await row.textContent()).toContain('restricted');
    expect(await row.textContent()).not.toContain('laptop');
    await expect(member.locator('main').textContent()).resolves.not.toContain(restrictedSubject);

    await row.click();
    await h1(member, restrictedKey).waitFor();
    await member
      .getByRole('alert')
      .filter({ hasText: 'This case is restricted: only its owner, leads and admins see it.' })
      .waitFor();
    await expect(member.locator('main').textContent()).resolves.not.toContain('laptop');
    await expectAccessibleScreen(member, 'restricted');
  });

  it('then a lead opening it reads its content', async () => {
    await openCase(lead, restrictedKey);
    const head = lead.getByRole('region', { name: 'Summary' });
    await head.getByText(restrictedSubject, { exact: true }).waitFor();
    await head.getByText('restricted', { exact: true }).waitFor();
  });
});

describe('when the member signs in on a second device and ends that session from the first', () => {
  let second: Page;
  const sessions = () =>
    desk.api<{ sessions: unknown[] }>('/api/me', { headers: { authorization: `Bearer ${memberToken}` } });

  it('then Settings lists both, ending the other one signs it out, and the desk keeps only this one', async () => {
    second = (await phone(browser)).page;
    await signInByLink(second, desk, memberEmail);
    expect((await sessions()).body.sessions).toHaveLength(2);

    await member.getByRole('link', { name: 'Settings' }).click();
    await h1(member, 'Settings').waitFor();
    const list = member.locator('section[aria-labelledby="sessions-h"] li');
    await list.filter({ hasText: 'This device' }).waitFor();
    expect(await list.count()).toBe(2);
    await expectAccessibleScreen(member, 'settings-two-sessions');

    await member.getByRole('button', { name: /^End session on / }).click();
    await member.getByText('Session ended.').waitFor();
    await list.nth(1).waitFor({ state: 'detached' });
    expect(await list.textContent()).toContain('This device');
    expect((await sessions()).body.sessions).toHaveLength(1);

    // The second device learns it at its next call to the desk, and goes back to Sign in.
    await second.getByRole('link', { name: 'Register' }).click();
    await h1(second, 'Sign in').waitFor();
    expect(await second.evaluate(() => fetch('/api/me').then((r) => r.status))).toBe(401);
  });

  it('then a passkey added in Settings can be removed there, and the desk no longer has it', async () => {
    const passkeys = () =>
      desk.api<{ passkeys: { name: string }[] }>('/api/me/passkeys', {
        headers: { authorization: `Bearer ${memberToken}` },
      });
    await member.getByLabel('Name for a new passkey').fill('Mo’s phone');
    await member.getByRole('button', { name: 'Add a passkey' }).click();
    await member.getByText('Passkey "Mo’s phone" added.').waitFor();
    await member.getByText('Mo’s phone', { exact: true }).waitFor();
    expect((await passkeys()).body.passkeys.map((p) => p.name)).toEqual(['Mo’s phone']);

    await member.getByRole('button', { name: 'Remove passkey Mo’s phone' }).click();
    await member.getByText('No passkeys yet: you sign in by email link.').waitFor();
    await expectAccessibleScreen(member, 'settings-passkey-removed');
    expect((await passkeys()).body.passkeys).toEqual([]);
    expect(await member.getByText('Mo’s phone', { exact: true }).count()).toBe(0);
  });
});
