import type { Browser, BrowserContext, Page } from 'playwright-core';
import { issueLoginLink } from '../../server/auth/magic-link';
import type { Desk } from './desk';
import { screenProblems } from './pwa';
import { waitFor } from './wait';

/** What the browser tests of the PWA do on its pages: open a phone, sign in, read the screen. */

/** A new browser context the size of a phone, with touch, and a page in it. */
export async function phone(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, hasTouch: true });
  const page = await context.newPage();
  // Playwright's own default: the suite shares two cores with the rest of CI.
  page.setDefaultTimeout(30_000);
  return { context, page };
}

export const h1 = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name });

/** Signs in with a fresh link, as the member would open it from their mail, and waits for the inbox. */
export async function signInByLink(page: Page, desk: Pick<Desk, 'publicUrl'>, email: string): Promise<void> {
  const link = await issueLoginLink(email, desk.publicUrl);
  if (!link) throw new Error(`no member is ${email}`);
  await page.goto(link.url);
  await Promise.all([
    page.waitForURL(`${desk.publicUrl}/`),
    page.getByRole('button', { name: 'Sign in to Tocsin' }).click(),
  ]);
  await h1(page, 'Inbox').waitFor();
}

/** axe-core finds no serious or critical violation on the screen shown; a screenshot is saved. */
export async function expectAccessibleScreen(page: Page, name: string): Promise<void> {
  expect({ screen: name, violations: await screenProblems(page, name) }).toEqual({
    screen: name,
    violations: [],
  });
}

/** The case keys the list on screen shows, once they are `want` (or whatever they are after 15 s). */
export async function expectRows(page: Page, want: string[]): Promise<void> {
  let shown: string[] = [];
  await waitFor(
    'the rows',
    async () => {
      shown = await page.locator('ul.cases .key').allTextContents();
      return JSON.stringify(shown) === JSON.stringify(want);
    },
    15_000,
  ).catch(() => undefined);
  expect(shown).toEqual(want);
}

/** The case row that has the focus, by its key, and whether all of it is in view. */
export async function focusedRow(page: Page): Promise<{ key: string | null; inView: boolean }> {
  const row = page.locator('ul.cases a:focus');
  await row.waitFor();
  const box = await row.boundingBox();
  const height = page.viewportSize()?.height ?? 0;
  const inView = !!box && box.y >= 0 && box.y + box.height <= height;
  return { key: await row.locator('.key').textContent(), inView };
}
