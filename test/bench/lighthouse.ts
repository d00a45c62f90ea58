/**
 * Lighthouse for part (e) of the benchmark (pwa.ts): one run in a Chromium of its own, and the
 * figures read from its report (scores 0–100, FCP, LCP, TBT, CLS, the audits to fix).
 */
import { round } from './stats';
import { STEP_TIMEOUT_MS, bounded, onCleanup } from './rig';

const CHROME_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The desk's PUBLIC_URL is http://localhost:<port>; Chromium may otherwise try ::1 first.
  '--host-resolver-rules=MAP localhost 127.0.0.1',
];

/** One Lighthouse run: scores 0–100, metrics in ms (CLS has no unit). */
export interface LighthouseRun {
  performance: number;
  accessibility: number;
  fcpMs: number;
  lcpMs: number;
  tbtMs: number;
  cls: number;
}

export interface AuditNote {
  id: string;
  title: string;
  detail: string;
}

export interface PageFigures {
  name: string;
  url: string;
  runs: LighthouseRun[];
  /** The median run by performance score. */
  median: LighthouseRun;
  /** Of the median run: accessibility audits that failed, performance audits scored under 90. */
  accessibilityFailed: AuditNote[];
  performanceToImprove: AuditNote[];
  /** Paths of the scripts the page loaded, as Lighthouse saw them. */
  scripts: string[];
  warnings: string[];
}

export type Lhr = NonNullable<Awaited<ReturnType<(typeof import('lighthouse'))['default']>>>['lhr'];
type Audit = Lhr['audits'][string];

/** One Lighthouse run in a Chromium of its own, which is stopped afterwards. */
export async function lighthouseOnce(
  url: string,
  cookie: string | undefined,
  timeoutMs: number,
): Promise<Lhr> {
  const { launch } = await import('chrome-launcher');
  const { default: lighthouse } = await import('lighthouse');
  const chrome = await bounded(
    launch({
      chromePath: process.env.CHROME_PATH || '/usr/bin/chromium',
      chromeFlags: CHROME_FLAGS,
      handleSIGINT: false, // the bench's own clean-up stops it
      logLevel: 'error',
    }),
    STEP_TIMEOUT_MS,
    'launch Chromium',
  );
  const stop = onCleanup(`stop Chromium pid ${chrome.pid}`, async () => chrome.kill());
  try {
    const result = await bounded(
      lighthouse(url, {
        port: chrome.port,
        logLevel: 'error',
        output: 'json',
        onlyCategories: ['performance', 'accessibility'],
        ...(cookie ? { extraHeaders: { Cookie: cookie } } : {}),
      }),
      timeoutMs,
      `Lighthouse on ${url}`,
    );
    const lhr = result?.lhr;
    if (!lhr) throw new Error(`Lighthouse on ${url} gave no result`);
    if (lhr.runtimeError)
      throw new Error(`Lighthouse on ${url}: ${lhr.runtimeError.code}: ${lhr.runtimeError.message}`);
    return lhr;
  } finally {
    await stop();
  }
}

function score(lhr: Lhr, category: 'performance' | 'accessibility'): number {
  const s = lhr.categories[category]?.score;
  if (typeof s !== 'number')
    throw new Error(`Lighthouse gave no ${category} score for ${lhr.finalDisplayedUrl}`);
  return Math.round(s * 100);
}

export function figuresOf(lhr: Lhr): LighthouseRun {
  const metric = (id: string) => lhr.audits[id]?.numericValue ?? NaN;
  return {
    performance: score(lhr, 'performance'),
    accessibility: score(lhr, 'accessibility'),
    fcpMs: Math.round(metric('first-contentful-paint')),
    lcpMs: Math.round(metric('largest-contentful-paint')),
    tbtMs: Math.round(metric('total-blocking-time')),
    cls: round(metric('cumulative-layout-shift'), 3),
  };
}

/**
 * The category's scored audits under `passAt`, with where or how much; metrics are left out, and
 * so are the audits Lighthouse's own report hides (in 12, the "insight" twins of the others).
 */
function auditsUnder(lhr: Lhr, category: 'performance' | 'accessibility', passAt: number): AuditNote[] {
  const scored = ['binary', 'numeric', 'metricSavings'];
  return (lhr.categories[category]?.auditRefs ?? [])
    .filter((ref) => ref.group !== 'metrics' && ref.group !== 'hidden')
    .map((ref) => lhr.audits[ref.id])
    .filter(
      (a): a is Audit => !!a && a.score !== null && a.score < passAt && scored.includes(a.scoreDisplayMode),
    )
    .map((a) => {
      const items = (a.details as { items?: { node?: { selector?: string } }[] } | undefined)?.items ?? [];
      const nodes = items.flatMap((i) => i.node?.selector ?? []);
      const where = nodes.length ? `at ${nodes.slice(0, 3).join(', ')}${nodes.length > 3 ? ', …' : ''}` : '';
      return { id: a.id, title: a.title, detail: a.displayValue || where };
    });
}

/** Requests the page made, from the network-requests audit: path and status. */
function requestsOf(lhr: Lhr): { path: string; status: number; type: string }[] {
  const items = (lhr.audits['network-requests']?.details as { items?: Record<string, unknown>[] } | undefined)
    ?.items;
  return (items ?? []).map((i) => {
    const url = new URL(String(i.url));
    return { path: url.pathname + url.search, status: Number(i.statusCode), type: String(i.resourceType) };
  });
}

export function pageFigures(name: string, url: string, lhrs: Lhr[]): PageFigures {
  const runs = lhrs.map(figuresOf);
  const order = runs.map((_, i) => i).sort((a, b) => runs[a]!.performance - runs[b]!.performance);
  const mid = order[Math.floor((order.length - 1) / 2)]!;
  const lhr = lhrs[mid]!;
  return {
    name,
    url,
    runs,
    median: runs[mid]!,
    accessibilityFailed: auditsUnder(lhr, 'accessibility', 1),
    performanceToImprove: auditsUnder(lhr, 'performance', 0.9),
    scripts: requestsOf(lhr)
      .filter((r) => r.type === 'Script')
      .map((r) => r.path),
    warnings: [...new Set(lhrs.flatMap((l) => l.runWarnings))],
  };
}

/** What shows the run measured the screen it meant to: the request and the status it expects. */
export function expectRequest(lhrs: Lhr[], page: string, pathStart: string, status: number): void {
  for (const lhr of lhrs) {
    const seen = requestsOf(lhr).filter((r) => r.path.startsWith(pathStart));
    if (!seen.some((r) => r.status === status))
      throw new Error(
        `Lighthouse on the ${page}: expected ${pathStart} to answer ${status}, saw ` +
          (seen.map((r) => `${r.path} ${r.status}`).join(', ') || 'no such request'),
      );
  }
}
