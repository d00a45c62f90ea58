import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../support/browser';
import { issueLoginLink } from '../../server/auth/magic-link';
import { addUser } from '../../server/auth/users';
import { casesTagged, type CaseView } from '../support/conversation';
import { startDesk, type Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose } from '../support/mail';
import { waitFor } from '../support/wait';

/**
 * Hostile email HTML, opened in real Chromium the way the PWA shows it: the server-sanitised
 * document in a sandboxed iframe (no allow-scripts) under its own CSP. A "tracker" on another
 * host (a loopback server reached by name) counts every request it gets.
 */

let desk: Desk;
let browser: Browser;
let page: Page;
let tracker: Server;
let trackerHits: string[] = [];
let trackerOrigin: string;
let hostile: CaseView;
const tag = uniqueName('hostile');

beforeAll(async () => {
  tracker = http.createServer((req, res) => {
    trackerHits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'image/gif' }).end();
  });
  await new Promise<void>((resolve) => tracker.listen(0, '127.0.0.1', resolve));
  trackerOrigin = `http://tracker.test:${(tracker.address() as AddressInfo).port}`;

  const box = await newMailbox('hostile');
  desk = await startDesk({ mailbox: box });
  const html = [
    `<p>Please look at this ${tag}</p>`,
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
  await appendMessages(box, [await compose({ subject: `Odd invoice ${tag}`, text: 'See HTML part', html })]);
  hostile = await waitFor('the case', async () => (await casesTagged(desk, tag))[0] ?? null);

  const email = `${uniqueName('viewer')}@example.org`;
  await addUser(email, 'Viewer', 'admin');
  browser = await launchChromium(['MAP tracker.test 127.0.0.1']);
  page = await browser.newPage();
  const link = await issueLoginLink(email, desk.publicUrl);
  await page.goto(link!.url);
  await Promise.all([
    page.waitForURL(`${desk.publicUrl}/`),
    page.getByRole('button', { name: 'Sign in to Tocsin' }).click(),
  ]);
});

afterAll(async () => {
  await browser?.close();
  await desk?.stop();
  await new Promise((r) => tracker?.close(r));
});

const htmlUrl = () => {
  const entry = hostile.timeline.find((e) => e.email?.direction === 'in')!;
  return entry.email!.htmlUrl!;
};

/** Frames the email as the PWA does, on the desk's own origin, and waits for it to load. */
async function openFramed(url: string): Promise<void> {
  await page.evaluate((src) => {
    // Runs in the page; the test's own TypeScript knows no DOM.
    interface Frame {
      title: string;
      src: string;
      setAttribute(name: string, value: string): void;
      addEventListener(event: string, listener: (value: unknown) => void): void;
    }
    const document = (
      globalThis as unknown as {
        document: {
          body: { replaceChildren(): void; append(node: Frame): void };
          createElement(tag: 'iframe'): Frame;
        };
      }
    ).document;
    document.body.replaceChildren();
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', 'allow-popups allow-popups-to-escape-sandbox');
    frame.title = 'The message';
    frame.src = src;
    document.body.append(frame);
    return new Promise((resolve) => frame.addEventListener('load', resolve));
  }, url);
  // Give anything that would fire (onerror, onload, fetches) the time to do so.
  await page.waitForTimeout(1500);
}

describe('when a member opens an email full of hostile HTML', () => {
  it('then nothing in it runs, and not one request reaches the tracker', async () => {
    trackerHits = [];
    await openFramed(htmlUrl());
    const frame = page.frames().find((f) => f.url().includes('/timeline/'))!;
    expect(frame).toBeDefined();
    const body = await frame.locator('body').innerHTML();
    expect(body).toContain(`Please look at this ${tag}`);
    expect(body).not.toMatch(/<script|onerror|onload|javascript:|srcdoc|<iframe|<form|tracker\.test/i);
    expect(trackerHits).toEqual([]);
  });

  it('then a link shows its real target beside its text, and opens outside the app', async () => {
    const frame = page.frames().find((f) => f.url().includes('/timeline/'))!;
    const link = frame.getByRole('link', { name: 'your bank' });
    expect(await link.getAttribute('rel')).toContain('noopener');
    expect(await link.getAttribute('rel')).toContain('noreferrer');
    expect(await frame.locator('body').innerText()).toContain('your bank ⟨https://bank.example/login⟩');
  });

  it('then its document is sandboxed by its own CSP even when opened directly', async () => {
    const res = await fetch(desk.url + htmlUrl(), { headers: { authorization: `Bearer ${desk.token}` } });
    expect(res.status).toBe(200);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/^sandbox allow-popups allow-popups-to-escape-sandbox;/);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain('img-src data:;');
    expect(csp).not.toContain('script-src');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('then its remote images load only when the member asks, for that message', async () => {
    trackerHits = [];
    await openFramed(`${htmlUrl()}?images=1`);
    expect(trackerHits).toEqual(['GET /pixel.gif']);
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
