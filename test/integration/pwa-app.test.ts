import { rmSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { addVirtualAuthenticator, launchChromium } from '../support/browser';
import { privateBuild, screenProblems, serveBuild } from '../support/pwa';
import { addUser } from '../../server/auth/users';
import type { ImapConfig } from '../../server/config';
import { mailFor, startConversationRig, waitForCase, type ConversationRig } from '../support/conversation';
import type { Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { compose } from '../support/mail';
import { waitFor } from '../support/wait';

/**
 * The PWA's page in real headless Chromium, at a phone's size, against the desk in-process with
 * its real database, Dovecot and SMTP relay: signing in by a link read from the member's mailbox,
 * a passkey from the DevTools virtual authenticator, triage of a case made from real mail, a
 * reply that arrives in the reporter's mailbox, the closure gate, a conflict, the offline outbox,
 * and axe-core on every screen.
 */

let rig: ConversationRig;
let desk: Desk;
let dist: string;
let memberBox: ImapConfig;
let reporter: ImapConfig;
let caseKey: string;
let tag: string;
let browser: Browser;
let context: BrowserContext;
let page: Page;
const cspErrors: string[] = [];

/** axe-core finds no serious or critical violation on the screen shown; a screenshot is saved. */
async function checkScreen(name: string): Promise<void> {
  expect({ screen: name, violations: await screenProblems(page, name) }).toEqual({
    screen: name,
    violations: [],
  });
}

const heading = (name: string | RegExp) => page.getByRole('heading', { level: 1, name });

beforeAll(async () => {
  dist = await privateBuild();
  rig = await startConversationRig();
  desk = rig.desk;
  serveBuild(desk, dist);
  memberBox = await newMailbox('member');
  await addUser(memberBox.user, 'Mo Member', 'member');
  reporter = await newMailbox('reporter');
  tag = uniqueName('pwa');
  await rig.send(
    await compose({
      from: `Ren Reporter <${reporter.user}>`,
      to: rig.deskBox.user,
      subject: `The members wiki rejects my password ${tag}`,
      text: 'Since this morning the wiki at https://wiki.example.org says my password is wrong.',
      html: '<p>Since this morning the <a href="https://wiki.example.org">wiki</a> says my password is wrong.</p>',
    }),
    reporter.user,
  );
  caseKey = await waitFor('the case', async () => {
    const res = await desk.api<{ cases: { key: string }[] }>(`/api/cases?q=${tag}`);
    return res.body.cases[0]?.key ?? null;
  });

  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 360, height: 740 }, hasTouch: true });
  page = await context.newPage();
  // Playwright's own default: the suite shares two cores with the rest of CI.
  page.setDefaultTimeout(30_000);
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/.test(m.text()) && !/frame-ancestors/.test(m.text()))
      cspErrors.push(m.text());
  });
  await addVirtualAuthenticator(context, page);
}, 60_000);

afterEach(async () => {
  const state = (expect.getState() as { currentTestName?: string }).currentTestName;
  if (process.env.TOCSIN_PWA_DEBUG && page) {
    process.stderr.write(
      `--- after ${state}\n${await page
        .locator('main')
        .innerText()
        .catch(() => '')}\n`,
    );
  }
});

afterAll(async () => {
  await browser?.close();
  await rig?.stop();
  if (dist) rmSync(dist, { recursive: true, force: true });
});

describe('when a member signs in to the PWA', () => {
  it('then a link read from their own mailbox signs them in, and the inbox shows the new case', async () => {
    await page.goto(`${desk.publicUrl}/`);
    await heading('Sign in').waitFor();
    await checkScreen('sign-in');
    await page.getByLabel('Your email address').fill(memberBox.user);
    await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
    await page.getByRole('heading', { name: 'Check your mail' }).waitFor();

    const [mail] = await mailFor(memberBox, 1);
    const link = /https?:\/\/\S+\/auth\/magic\?token=[\w-]+/.exec(mail!.text)![0];
    await page.goto(link);
    await page.getByRole('button', { name: 'Sign in to Tocsin' }).click();
    await heading('Inbox').waitFor();
    const row = page.getByRole('link', { name: new RegExp(caseKey) });
    await row.waitFor();
    await expect(row.textContent()).resolves.toContain(`The members wiki rejects my password ${tag}`);
    await checkScreen('inbox');
  });

  it('then it offers a passkey, and after signing out the passkey signs the member in', async () => {
    await page.getByRole('heading', { name: 'Sign in faster next time' }).waitFor();
    await page.getByLabel('Name for this passkey').fill('Test phone');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByText('Passkey "Test phone" added').waitFor();

    await page.getByRole('link', { name: 'Settings' }).click();
    await heading('Settings').waitFor();
    await page.getByText('Test phone', { exact: true }).waitFor();
    await page.getByText('This device', { exact: true }).waitFor();
    await checkScreen('settings');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading('Sign in').waitFor();

    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await heading('Inbox').waitFor();
    const me = await page.evaluate(() => fetch('/api/me').then((r) => r.json()));
    expect(me).toMatchObject({
      email: memberBox.user,
      sessions: [expect.objectContaining({ method: 'passkey' })],
    });
  });
});

describe('when the member triages the case from real mail and replies', () => {
  it('then type, severity, owner, status and checklist change on the desk', async () => {
    await page.getByRole('link', { name: new RegExp(caseKey) }).click();
    await heading(caseKey).waitFor();
    await page.getByText(`Ren Reporter <${reporter.user}>`).first().waitFor();
    // The email's HTML only ever in a sandboxed frame that may not run scripts.
    const frame = page.locator('iframe.email-html');
    // Links may open outside it (popups); scripts, forms and same-origin access stay off.
    expect(await frame.getAttribute('sandbox')).toBe('allow-popups allow-popups-to-escape-sandbox');
    expect(await frame.getAttribute('src')).toMatch(
      new RegExp(`^/api/cases/${caseKey}/timeline/[^/]+/html$`),
    );
    await checkScreen('case');

    await page.getByLabel('Type', { exact: true }).selectOption('INC');
    await page.getByLabel('Severity', { exact: true }).selectOption('SEV3');
    await page.getByRole('button', { name: 'Confirm type and severity' }).click();
    await page.getByRole('heading', { name: 'Status: Triage' }).waitFor();
    await page.getByRole('button', { name: 'Take ownership' }).click();
    await page.getByRole('button', { name: 'Take ownership' }).waitFor({ state: 'detached' });
    await page.getByRole('button', { name: 'Move to In progress' }).click();
    await page.getByRole('heading', { name: 'Status: In progress' }).waitFor();
    await page.getByRole('checkbox', { name: /Notify committee leadership/ }).check();
    await page.getByText('1 of').waitFor();

    const c = await waitForCase(
      desk,
      caseKey,
      (v) => (v as unknown as { checklist: { done: boolean }[] }).checklist.some((i) => i.done),
      'the tick',
    );
    expect(c).toMatchObject({
      type: 'INC',
      severity: 'SEV3',
      status: 'InProgress',
      owner: { name: 'Mo Member' },
    });
  });

  it('then a reply sent from the PWA arrives in the reporter’s mailbox', async () => {
    await page.getByRole('radio', { name: 'Reply' }).check();
    await page.getByLabel(/^Reply to /).fill(`We reset your wiki password ${tag}; please try again.`);
    await page.getByRole('button', { name: 'Send reply' }).click();
    const mail = await mailFor(reporter, 2); // the acknowledgement, then our reply
    const reply = mail.find((m) => m.text.includes(`We reset your wiki password ${tag}`));
    expect(reply?.subject).toMatch(new RegExp(`\\[${caseKey}\\]`));
    await page.locator('.timeline').getByText(`We reset your wiki password ${tag}`).waitFor();
  });

  it('then a write made against an older version is shown beside the case now, and re-applied', async () => {
    const now = await desk.api<{ version: number }>(`/api/cases/${caseKey}`);
    const behind = await desk.api(`/api/cases/${caseKey}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: now.body.version, severity: 'SEV2' }),
    });
    expect(behind.status).toBe(200);

    await page.getByRole('radio', { name: 'Note' }).check();
    await page.getByLabel('Note for the committee').fill('Checked the wiki logs.');
    await page.getByRole('button', { name: 'Add note' }).click();
    const conflict = page.getByRole('heading', { name: 'Changed by someone else' });
    await conflict.waitFor();
    await expect(page.locator('table.compare').textContent()).resolves.toContain('SEV2');
    await checkScreen('conflict');
    await page.getByRole('button', { name: 'Apply mine again' }).click();
    await conflict.waitFor({ state: 'detached' });
    await waitForCase(
      desk,
      caseKey,
      (v) =>
        v.timeline.some((e) => (e as { note?: { text: string } }).note?.text === 'Checked the wiki logs.'),
      'the re-applied note',
    );
    await page.locator('.timeline').getByText('Checked the wiki logs.').waitFor();
    await page.locator('.timeline').getByRole('heading', { name: 'Changed' }).first().waitFor();
  });

  it('then a note written offline shows as pending, and reaches the desk when back online', async () => {
    await context.setOffline(true);
    await page.getByLabel('Note for the committee').fill('Written on the train.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.getByRole('heading', { name: 'Pending (1)' }).waitFor();
    await context.setOffline(false);
    await waitForCase(
      desk,
      caseKey,
      (v) =>
        v.timeline.some((e) => (e as { note?: { text: string } }).note?.text === 'Written on the train.'),
      'the note written offline',
    );
    await page.getByRole('heading', { name: 'Pending (1)' }).waitFor({ state: 'detached' });
  });
});

describe('when the member closes the case', () => {
  it('then closing is refused until the closure record is complete, and then succeeds', async () => {
    await page.getByRole('button', { name: 'Move to Monitoring' }).click();
    await page.getByRole('heading', { name: 'Status: Monitoring' }).waitFor();
    await page.getByRole('button', { name: 'Close case' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'Not closed' });
    await refusal.waitFor();
    await expect(refusal.textContent()).resolves.toContain('Root cause');
    await checkScreen('closure');
    expect((await desk.api<{ status: string }>(`/api/cases/${caseKey}`)).body.status).toBe('Monitoring');

    const needs = (await desk.api<{ closure: { required: string[] } }>(`/api/cases/${caseKey}`)).body.closure
      .required;
    await page.getByLabel(/^Root cause/).fill('A password reset email was filtered as spam.');
    if (needs.includes('accountChanges'))
      await page.getByLabel(/^Account or password changes/).fill('Reset the member’s wiki password.');
    if (needs.includes('lessons')) await page.getByLabel(/^Lessons/).fill('Allow-list the wiki’s sender.');
    if (needs.includes('followUps')) {
      await page.getByRole('button', { name: 'Add a follow-up' }).click();
      await page.getByLabel('Task 1').fill('Review spam rules');
      await page.getByLabel('Owner').last().fill('Mo Member');
      await page.getByLabel('Due').fill('2030-01-31');
    }
    await page.getByRole('button', { name: 'Close case' }).click();
    await page.getByRole('button', { name: 'Reopen' }).waitFor();
    expect((await desk.api<{ status: string }>(`/api/cases/${caseKey}`)).body.status).toBe('Closed');
  });
});

describe('when the member opens the register', () => {
  it('then the filters find the case, and the export link carries them', async () => {
    await page.getByRole('link', { name: 'Register' }).click();
    await heading('Register').waitFor();
    await page.getByLabel('Search key, subject or reporter').fill(tag);
    await page.getByRole('button', { name: 'Show cases' }).click();
    await page.getByRole('link', { name: new RegExp(caseKey) }).waitFor();
    // The case is in the unfiltered list too: wait for the filtered one (its export link says so).
    const exportLink = page.getByRole('link', { name: 'Export these cases as CSV' });
    await page.locator(`a[href="/api/cases.csv?q=${tag}"]`).waitFor();
    expect(await exportLink.getAttribute('href')).toBe(`/api/cases.csv?q=${tag}`);
    await checkScreen('register');
    expect(cspErrors).toEqual([]);
  });
});

describe('when a write queued offline is refused for good once sent', () => {
  it('then the refusal and its reason stay on screen across a reload, until the member dismisses it', async () => {
    const subject = `Shared calendar shows other people's entries ${tag}`;
    const made = await desk.intake.ingestOrQuarantine(await compose({ subject, text: 'Since Friday.' }), {
      kind: 'file',
      file: 'refused.eml',
    });
    if (made.outcome !== 'created') throw new Error(`no case made: ${JSON.stringify(made)}`);
    await page.goto(`${desk.publicUrl}/#/case/${made.caseKey}`);
    await heading(made.caseKey).waitFor();
    // The heading shows the key before the case has loaded: going offline before that leaves no case.
    await page.getByRole('radio', { name: 'Note' }).waitFor();

    await context.setOffline(true);
    await page.getByRole('radio', { name: 'Note' }).check();
    await page.getByLabel('Note for the committee').fill('Asked IT for the sharing settings.');
    await page.getByRole('button', { name: 'Add note' }).click();
    await page.getByRole('heading', { name: 'Pending (1)' }).waitFor();
    // Meanwhile an admin restricts the case, which this member neither owns nor leads.
    const { body } = await desk.api<{ version: number }>(`/api/cases/${made.caseKey}`);
    const restricted = await desk.api(`/api/cases/${made.caseKey}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: body.version, restricted: true }),
    });
    expect(restricted.status).toBe(200);
    await context.setOffline(false);

    const refusal = page.getByRole('alert').filter({ hasText: 'was refused' });
    await refusal.waitFor();
    await expect(refusal.textContent()).resolves.toContain(made.caseKey);
    await page.reload();
    await refusal.waitFor();
    await page.getByRole('button', { name: 'Dismiss' }).click();
    await refusal.waitFor({ state: 'detached' });
    await page.reload();
    await heading(/./).waitFor();
    expect(await refusal.count()).toBe(0);
    const timeline = await desk.api<{ timeline: { note?: { text: string } }[] }>(
      `/api/cases/${made.caseKey}`,
    );
    expect(timeline.body.timeline.some((e) => e.note)).toBe(false);
  });
});
