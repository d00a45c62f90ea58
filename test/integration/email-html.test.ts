import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Frame, Locator, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { issueLoginLink } from '../../server/auth/magic-link';
import { addUser } from '../../server/auth/users';
import { casesTagged, inbound, waitForCase, type CaseView } from '../support/conversation';
import { startDesk, type Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose } from '../support/mail';
import { buildPwaIfStale } from '../support/pwa';
import { waitFor } from '../support/wait';

/**
 * Hostile email HTML, opened in real Chromium through the PWA: the member taps the case in the
 * inbox, and the case screen shows each email's server-sanitised document in a sandboxed iframe
 * (no allow-scripts) under its own CSP. A "tracker" on another host (a loopback server reached by
 * name) counts every request it gets, and the page's own requests are watched for its host.
 */

let desk: Desk;
let browser: Browser;
let page: Page;
let tracker: Server;
let trackerHits: string[] = [];
/** Every request the page (any of its frames) made to the tracker's host. */
let pageToTracker: string[] = [];
/** Dialogs (alert, confirm, print…) and popups the page opened. */
const opened: string[] = [];
let trackerOrigin: string;
let hostile: CaseView;
let phishing: CaseView;
const tag = uniqueName('hostile');
const phishTag = uniqueName('phish');
const FIRST_TEXT = `Please look at this ${tag}`;
const SECOND_TEXT = `And one more thing ${tag}`;

beforeAll(async () => {
  await buildPwaIfStale();
  tracker = http.createServer((req, res) => {
    trackerHits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'image/gif' }).end();
  });
  await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve));
  trackerOrigin = `http://tracker.test:${(tracker.address() as AddressInfo).port}`;

  const box = await newMailbox('hostile');
  desk = await startDesk({ mailbox: box });
  const sender = `Odd Sender <odd-${tag.toLowerCase()}@example.org>`;
  const first = [
    `<p>${FIRST_TEXT}</p>`,
    `<script>fetch('${trackerOrigin}/script')</script>`,
    `<img src="${trackerOrigin}/pixel.gif" width="1" height="1">`,
    `<img src="x" onerror="fetch('${trackerOrigin}/onerror')">`,
    `<a href="javascript:fetch('${trackerOrigin}/js-link')">click me</a>`,
    `<a href="https://bank.example/login">your bank</a>`,
    `<svg onload="fetch('${trackerOrigin}/svg')"><circle r="4"/></svg>`,
    `<iframe srcdoc="<script>fetch('${trackerOrigin}/srcdoc')</script>"></iframe>`,
    `<div style="background:url(${trackerOrigin}/css-bg)">styled</div>`,
    `<table background="${trackerOrigin}/table-bg"><tr><td>cell</td></tr></table>`,
    `<form action="${trackerOrigin}/form"><input name="q"><button>Go</button></form>`,
  ].join('\n');
  await appendMessages(box, [
    await compose({ from: sender, subject: `Odd invoice ${tag}`, text: 'See HTML part', html: first }),
  ]);
  const key = await waitFor('the case', async () => (await casesTagged(desk, tag))[0]?.key ?? null);

  // A second hostile message on the same case: a reply, threaded by the key in its subject.
  const second = [
    `<p>${SECOND_TEXT}</p>`,
    `<meta http-equiv="refresh" content="0;url=${trackerOrigin}/refresh">`,
    `<img src="${trackerOrigin}/pixel-2.gif">`,
    `<body onload="alert('second')"><object data="${trackerOrigin}/object"></object></body>`,
    `<embed src="${trackerOrigin}/embed"><video poster="${trackerOrigin}/poster"></video>`,
    `<link rel="stylesheet" href="${trackerOrigin}/style.css">`,
    `<a href="#" onclick="print()">print me</a>`,
  ].join('\n');
  await appendMessages(box, [
    await compose({ from: sender, subject: `Re: [${key}] Odd invoice ${tag}`, text: 'More', html: second }),
  ]);
  hostile = await waitForCase(desk, key, (c) => inbound(c).length === 2, 'the reply on the case');

  // A phishing report: someone forwards the phish as an attached message.
  const phishHost = `login-${phishTag.toLowerCase().replace(/_/g, '-')}.example.net`;
  const phish = await compose({
    from: 'IT Service Desk <it-support@paypa1-security.example.com>',
    replyTo: 'collect@evil-drop.example.org',
    subject: 'Your mailbox is full: verify now',
    html: `<p>Dear user, <a href="https://${phishHost}/verify?u=42">keep your mailbox</a>.</p><img src="${trackerOrigin}/phish.gif">`,
    text: `Dear user, visit https://${phishHost}/verify?u=42 to keep your mailbox.`,
    headers: { Received: 'from mailer.paypa1-security.example.com ([203.0.113.66]) by mx.example.org' },
  });
  await appendMessages(box, [
    await compose({
      subject: `Fwd: suspicious email ${phishTag}`,
      text: 'This looks like phishing, I did not click.',
      attachments: [{ filename: 'phish.eml', content: phish, contentType: 'message/rfc822' }],
    }),
  ]);
  const phishKey = await waitFor('the report', async () => (await casesTagged(desk, phishTag))[0]?.key);
  phishing = await waitForCase(desk, phishKey, (c) => c.indicators.length > 0, 'its indicators');

  const email = `${uniqueName('viewer')}@example.org`;
  await addUser(email, 'Viewer', 'admin');
  browser = await launchChromium(['MAP tracker.test 127.0.0.1']);
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, hasTouch: true });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  page.on('request', (r) => {
    if (new URL(r.url()).hostname === 'tracker.test') pageToTracker.push(r.url());
  });
  page.on('dialog', (d) => {
    opened.push(`dialog ${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  context.on('page', (p) => opened.push(`page ${p.url()}`));
  const link = await issueLoginLink(email, desk.publicUrl);
  await page.goto(link!.url);
  await Promise.all([
    page.waitForURL(`${desk.publicUrl}/`),
    page.getByRole('button', { name: 'Sign in to Tocsin' }).click(),
  ]);
  await page.getByRole('heading', { level: 1, name: 'Inbox' }).waitFor();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await desk?.stop();
  await new Promise((r) => tracker?.close(r));
});

/**
 * The case's two incoming emails, the first report then the follow-up, with the HTML iframe the app
 * shows for each. Told apart by their text: both can arrive within the same second, and the
 * mailbox's arrival time has one-second resolution.
 */
const emails = () =>
  [FIRST_TEXT, SECOND_TEXT]
    .map((text) => inbound(hostile).find((e) => e.email!.html?.includes(text))!)
    .map((e) => ({
      entry: e,
      htmlUrl: e.email!.htmlUrl!,
      iframe: page.locator(`iframe.email-html[src*="/timeline/${encodeURIComponent(e.id)}/html"]`),
      card: page.locator('li.entry').filter({
        has: page.locator(`iframe[src*="/timeline/${encodeURIComponent(e.id)}/html"]`),
      }),
    }));

/** Scrolls the lazy iframe into view and waits until its document shows `text`; returns its frame. */
async function loadedFrame(iframe: Locator, text: string): Promise<Frame> {
  await iframe.scrollIntoViewIfNeeded();
  const frame = await (await iframe.elementHandle())!.contentFrame();
  if (!frame) throw new Error('the iframe has no frame');
  await frame.getByText(text).waitFor();
  return frame;
}

/** Runs in a frame: what in its DOM could run script, send a form or load another document. */
function scriptedIn(elements: unknown[]): string[] {
  const found: string[] = [];
  for (const el of elements as {
    tagName: string;
    attributes: ArrayLike<{ name: string; value: string }>;
  }[]) {
    const tag = el.tagName.toLowerCase();
    const attrs = Array.from(el.attributes);
    if (/^(script|iframe|frame|frameset|object|embed|applet|form|base|link)$/.test(tag)) found.push(tag);
    if (tag === 'meta' && attrs.some((a) => a.name === 'http-equiv')) found.push('meta http-equiv');
    for (const a of attrs)
      if (/^on|^srcdoc$|^formaction$/i.test(a.name) || /^\s*(java|vb)script:/i.test(a.value))
        found.push(`${tag}[${a.name}="${a.value}"]`);
  }
  return found;
}

/** Lets anything that would fire (onerror, onload, refreshes, fetches) do so. */
const settle = () => page.waitForTimeout(1500);

describe('when a member opens, from the inbox, a case whose emails are full of hostile HTML', () => {
  it('then nothing in them runs, nothing opens, and not one request reaches the tracker', async () => {
    trackerHits = [];
    pageToTracker = [];
    await page.getByRole('link', { name: new RegExp(hostile.key) }).tap();
    await page.getByRole('heading', { level: 1, name: hostile.key }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/case/${hostile.key}`);
    const [first, second] = emails();
    const frames = [
      await loadedFrame(first!.iframe, FIRST_TEXT),
      await loadedFrame(second!.iframe, SECOND_TEXT),
    ];
    await settle();

    for (const { iframe, htmlUrl } of [first!, second!]) {
      const sandbox = await iframe.getAttribute('sandbox');
      expect(sandbox).not.toBeNull();
      expect(sandbox!.split(/\s+/)).not.toEqual(
        expect.arrayContaining([expect.stringMatching(/^allow-(scripts|same-origin|top-navigation|modals)/)]),
      );
      expect(await iframe.getAttribute('referrerpolicy')).toBe('no-referrer');
      expect(await iframe.getAttribute('src')).toBe(htmlUrl);
    }
    for (const frame of frames) {
      expect(new URL(frame.url()).pathname).toMatch(/\/timeline\/[^/]+\/html$/); // not refreshed away
      expect(await frame.locator('*').evaluateAll(scriptedIn)).toEqual([]);
      expect(await frame.locator('body').innerHTML()).not.toMatch(
        /<script|onerror|onload|onclick|javascript:|srcdoc|<iframe|<form|<object|<embed|tracker\.test/i,
      );
    }
    expect(trackerHits).toEqual([]);
    expect(pageToTracker).toEqual([]);
    expect(opened).toEqual([]);
  });

  it('then a link shows its real target beside its text, and opens outside the app', async () => {
    const frame = await loadedFrame(emails()[0]!.iframe, FIRST_TEXT);
    const link = frame.getByRole('link', { name: 'your bank' });
    expect(await link.getAttribute('href')).toBe('https://bank.example/login');
    expect(await link.getAttribute('target')).toBe('_blank');
    expect((await link.getAttribute('rel'))!.split(' ')).toEqual(
      expect.arrayContaining(['noopener', 'noreferrer']),
    );
    expect(await frame.locator('body').innerText()).toContain('your bank ⟨https://bank.example/login⟩');
    // The javascript: link is left as text, not a link.
    expect(await frame.getByRole('link', { name: 'click me' }).count()).toBe(0);
  });

  it('then its document is sandboxed by its own CSP even when opened directly', async () => {
    const res = await fetch(desk.url + emails()[0]!.htmlUrl, {
      headers: { authorization: `Bearer ${desk.token}` },
    });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/^sandbox allow-popups allow-popups-to-escape-sandbox;/);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain('img-src data:;');
    expect(csp).not.toContain('script-src');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('then "Load images" loads the remote images of that message only', async () => {
    trackerHits = [];
    pageToTracker = [];
    const [first, second] = emails();
    await expect(first!.card.locator('p.images').innerText()).resolves.toMatch(/remote images? blocked/);
    await first!.card.getByRole('button', { name: 'Load images' }).tap();
    await first!.card.getByText(/remote images? loaded\./).waitFor();
    expect(await first!.iframe.getAttribute('src')).toBe(`${first!.htmlUrl}?images=1`);
    await loadedFrame(first!.iframe, FIRST_TEXT);
    await waitFor('the pixel', () => trackerHits.length > 0, 10_000);
    await settle();

    expect(trackerHits).toEqual(['GET /pixel.gif']);
    expect(pageToTracker).toEqual([`${trackerOrigin}/pixel.gif`]);
    // The other message of the case still loads none, and still offers to.
    expect(await second!.iframe.getAttribute('src')).toBe(second!.htmlUrl);
    await second!.card.getByRole('button', { name: 'Load images' }).waitFor();
    expect(await first!.iframe.getAttribute('sandbox')).not.toMatch(/allow-scripts|allow-same-origin/);
    expect(opened).toEqual([]);
  });
});

describe('when a member opens a phishing report', () => {
  it('then its indicators are shown defanged, as text, and the phish is not loaded', async () => {
    trackerHits = [];
    pageToTracker = [];
    await page.goto(`${desk.publicUrl}/#/case/${phishing.key}`);
    await page.getByRole('heading', { level: 1, name: phishing.key }).waitFor();
    const section = page.getByRole('region', { name: 'Indicators' });
    await section.waitFor();

    const shown = await section.locator('code.defanged').allInnerTexts();
    expect(shown.sort()).toEqual(phishing.indicators.map((i) => i.display).sort());
    const url = phishing.indicators.find((i) => i.type === 'url' && /verify\?u=42/.test(i.value))!;
    expect(url.display).toMatch(/^hxxps:\/\/.*\[\.\]/);
    expect(shown).toContain(url.display);
    const domain = phishing.indicators.find((i) => i.type === 'domain')!;
    expect(domain.display).toContain('[.]');
    for (const i of phishing.indicators.filter((x) => /^(url|domain|reply-to)$/.test(x.type)))
      expect(shown).not.toContain(i.value);

    // Not one of them is a link, here or anywhere on the screen.
    expect(await section.locator('a, [href]').count()).toBe(0);
    const hosts = phishing.indicators.filter((i) => i.type === 'domain').map((i) => i.value.toLowerCase());
    const hrefs = await page
      .locator('a[href]')
      .evaluateAll((as) => as.map((a) => (a as unknown as { href: string }).href.toLowerCase()));
    expect(hrefs.filter((h) => hosts.some((host) => h.includes(host)))).toEqual([]);
    await settle();
    expect(trackerHits).toEqual([]);
    expect(pageToTracker).toEqual([]);
  });
});

describe('when anything else is served', () => {
  it('then the headers forbid inline scripts, framing and referrers to other sites', async () => {
    const res = await fetch(`${desk.url}/healthz`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('referrer-policy')).toBe('same-origin');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
  });
});
