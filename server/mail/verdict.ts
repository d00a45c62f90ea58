/**
 * Says whether an inbound message really comes from the domain in its From address, so the desk can
 * show "sender verified" and threading can refuse a stranger who quotes a case key. Intake is over
 * IMAP, so we never see the SMTP client and cannot evaluate SPF ourselves; the evidence is
 *
 *  (a) the mailbox provider's own Authentication-Results header (RFC 8601). Providers prepend theirs,
 *      so anything below it may have been written by the sender. We walk the A-R headers from the top
 *      and trust only the first whose authserv-id is configured; every other one is ignored (and
 *      listed). With no id configured no A-R is trusted. Residual risk: if the provider ever stores a
 *      message without adding its A-R, a sender's forgery carrying the provider's id would be the
 *      first match; RFC 8601 §5 asks providers to strip such headers on entry.
 *  (b) DKIM signatures we verify ourselves with mailauth (RFC 6376), DNS through an injectable
 *      resolver, every lookup bounded by one overall deadline.
 *
 * Alignment is DMARC's relaxed alignment (RFC 7489 §3.1): same organisational domain, from the
 * Public Suffix List (tldts, with private suffixes, as mailauth does). Rules, in order:
 *
 *  - `pass` when the trusted A-R says dmarc=pass; or, when it gives no dmarc=pass/fail, dkim=pass with
 *    header.d (or header.i) aligned, or spf=pass with smtp.mailfrom aligned; or our own verification
 *    passes a DKIM signature whose d= is aligned. Pass wins over every failure below: an aligned
 *    passing signature cannot be made without the From domain's key.
 *  - `fail` when nothing passes and the trusted A-R says dmarc=fail, or (no dmarc=pass/fail) an aligned
 *    dkim=fail or spf=fail; or our own verification finds an aligned signature with a bad signature
 *    or a body hash mismatch (mail changed after signing: by a forger, or by a list adding a footer).
 *  - `none` otherwise: no trusted evidence, unsigned mail, keys not found, DNS unavailable
 *    (temperror), the deadline passed, or more than one From header (which downgrades even a pass).
 *    A dmarc result about another header.from than our From domain is set aside.
 *
 * Own DKIM verification is skipped when the trusted A-R already passes (it could not change the
 * verdict and costs DNS lookups). It never throws: hostile input gives `none` with a reason. Every
 * string it returns is free of NUL and bounded in length.
 */
import dns from 'node:dns';
import { domainToASCII } from 'node:url';
import type { DNSResolver, DKIMResult } from 'mailauth';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { getDomain } from 'tldts';
import { cleanText } from '../lib/text';
import { parseAuthResults, type ParsedAuthResults } from './auth-results';

export type Verdict = 'pass' | 'fail' | 'none';

export interface DkimCheck {
  domain: string;
  selector?: string;
  /** mailauth's result: pass, fail, neutral, policy, temperror, none. */
  result: string;
  aligned: boolean;
  comment?: string;
}

/** What the trusted Authentication-Results header says. */
export interface TrustedAuthResults {
  authservId: string;
  dmarc?: { result: string; headerFrom?: string };
  dkim: { result: string; domain: string; aligned: boolean }[];
  spf?: { result: string; domain: string; aligned: boolean };
}

export interface IgnoredAuthResults {
  /** Empty when the header names none (Exchange Online writes its A-R that way). */
  authservId: string;
  why: 'not-trusted' | 'below-trusted';
}

export interface SenderVerdict {
  verdict: Verdict;
  fromDomain: string;
  reasons: string[];
  authResults?: TrustedAuthResults;
  ignoredAuthResults?: IgnoredAuthResults[];
  dkim?: DkimCheck[];
}

export interface VerdictOptions {
  /** authserv-ids of the mailbox provider (e.g. mx.google.com); empty trusts no A-R header. */
  authservIds: string[];
  /** Like dns.promises.resolve; TXT answers as string[][]. */
  resolver?: (name: string, rrtype: string) => Promise<unknown>;
  /** Verify DKIM signatures ourselves (default true). */
  dkim?: boolean;
  /** Deadline for all of our DKIM DNS lookups together (default 5000 ms). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
/** More signatures than this is abuse (each costs a hash and a lookup); we verify none of them. */
const MAX_SIGNATURES = 16;
/** Details lists are cut here so that a hostile message cannot bloat the stored verdict. */
const MAX_LISTED = 20;
/** Time mailauth gets to finish after the DNS deadline before we stop waiting for it. */
const GRACE_MS = 250;

export async function senderVerdict(
  raw: Buffer,
  headers: { name: string; value: string }[],
  fromAddress: string | undefined,
  opts: VerdictOptions,
): Promise<SenderVerdict> {
  const fromDomain = domainOf(fromAddress ?? '');
  try {
    return await judge(raw, headers, fromDomain, opts);
  } catch (err) {
    return { verdict: 'none', fromDomain, reasons: [`sender not evaluated: ${describe(err)}`] };
  }
}

async function judge(
  raw: Buffer,
  headers: { name: string; value: string }[],
  fromDomain: string,
  opts: VerdictOptions,
): Promise<SenderVerdict> {
  if (!fromDomain) return { verdict: 'none', fromDomain, reasons: ['no From address to verify'] };
  const named = (name: string) => headers.filter((h) => h.name.trim().toLowerCase() === name);
  const out: SenderVerdict = { verdict: 'none', fromDomain, reasons: [] };
  const passes: string[] = [];
  const fails: string[] = [];

  const trusted = trustedAuthResults(named('authentication-results'), opts.authservIds, out);
  if (trusted) {
    const ar = readAuthResults(trusted, fromDomain);
    out.authResults = ar.details;
    passes.push(...ar.passes);
    fails.push(...ar.fails);
    out.reasons.push(...ar.notes);
  }

  const signatures = named('dkim-signature').length;
  if (opts.dkim === false) out.reasons.push('own DKIM verification is off');
  else if (passes.length) out.reasons.push('own DKIM verification skipped: already verified');
  else if (signatures > MAX_SIGNATURES)
    out.reasons.push(`${signatures} DKIM signatures is too many; none verified`);
  else {
    const own = await verifyDkim(raw, fromDomain, opts);
    out.dkim = own.checks;
    passes.push(...own.passes);
    fails.push(...own.fails);
    out.reasons.push(...own.notes);
  }

  out.reasons.unshift(...passes, ...fails);
  out.verdict = passes.length ? 'pass' : fails.length ? 'fail' : 'none';
  const froms = named('from').length;
  if (froms > 1) {
    out.verdict = 'none';
    out.reasons.unshift(`message has ${froms} From headers`);
  }
  out.reasons = out.reasons.map((r) => clean(r, 300));
  return out;
}

/** The first A-R header from the top with a configured authserv-id; the others are noted in `out`. */
function trustedAuthResults(
  fields: { value: string }[],
  authservIds: string[],
  out: SenderVerdict,
): ParsedAuthResults | undefined {
  const ids = new Set(authservIds.map((id) => id.trim().toLowerCase()).filter(Boolean));
  let trusted: ParsedAuthResults | undefined;
  const ignored: IgnoredAuthResults[] = [];
  for (const field of fields) {
    const parsed = parseAuthResults(field.value);
    if (!trusted && ids.has(parsed.authservId)) trusted = parsed;
    else
      ignored.push({
        authservId: clean(parsed.authservId, 255),
        why: trusted ? 'below-trusted' : 'not-trusted',
      });
  }
  if (ids.size === 0)
    out.reasons.push('no authserv-id is configured, so no Authentication-Results is trusted');
  else if (!trusted)
    out.reasons.push(`no trusted Authentication-Results (authserv-id ${[...ids].join(', ')})`);
  if (ignored.length) {
    out.ignoredAuthResults = ignored.slice(0, MAX_LISTED);
    const names = [...new Set(ignored.map((i) => i.authservId || 'no authserv-id'))];
    const listed = names.slice(0, 5).join(', ') + (names.length > 5 ? ', …' : '');
    out.reasons.push(`ignored ${ignored.length} Authentication-Results header(s): ${listed}`);
  }
  return trusted;
}

interface Evidence {
  passes: string[];
  fails: string[];
  notes: string[];
}

function readAuthResults(
  ar: ParsedAuthResults,
  fromDomain: string,
): Evidence & { details: TrustedAuthResults } {
  const id = clean(ar.authservId, 255);
  const ev: Evidence = { passes: [], fails: [], notes: [] };
  const details: TrustedAuthResults = { authservId: id, dkim: [] };
  const says = (what: string) => `${id} says ${what}`;

  const dmarc = ar.results.find((r) => r.method === 'dmarc');
  let dmarcDecides = false;
  if (dmarc) {
    const headerFrom = domainOf(dmarc.props.get('header.from') ?? '');
    details.dmarc = { result: clean(dmarc.result, 32), ...(headerFrom && { headerFrom }) };
    if (headerFrom && headerFrom !== fromDomain)
      ev.notes.push(says(`dmarc=${details.dmarc.result} about ${headerFrom}, not ${fromDomain}; set aside`));
    else if (dmarc.result === 'pass' || dmarc.result === 'fail') {
      dmarcDecides = true;
      (dmarc.result === 'pass' ? ev.passes : ev.fails).push(says(`dmarc=${dmarc.result}`));
    } else ev.notes.push(says(`dmarc=${details.dmarc.result}`));
  }

  for (const r of ar.results.filter((r) => r.method === 'dkim').slice(0, MAX_LISTED)) {
    const domain = domainOf(r.props.get('header.d') ?? r.props.get('header.i') ?? '');
    const entry = { result: clean(r.result, 32), domain, aligned: aligned(domain, fromDomain) };
    details.dkim.push(entry);
    weigh(ev, dmarcDecides, 'dkim', entry, fromDomain, says);
  }

  const spf = ar.results.find((r) => r.method === 'spf');
  if (spf) {
    const domain = domainOf(spf.props.get('smtp.mailfrom') ?? '');
    details.spf = { result: clean(spf.result, 32), domain, aligned: aligned(domain, fromDomain) };
    weigh(ev, dmarcDecides, 'spf', details.spf, fromDomain, says);
  }
  return { ...ev, details };
}

/** Files one dkim= or spf= result of the trusted A-R as a pass, a fail, or a note. */
function weigh(
  ev: Evidence,
  dmarcDecides: boolean,
  method: string,
  r: { result: string; domain: string; aligned: boolean },
  fromDomain: string,
  says: (what: string) => string,
) {
  const what = `${method}=${r.result}${r.domain ? ` for ${r.domain}` : ''}`;
  if (!dmarcDecides && r.aligned && r.result === 'pass') ev.passes.push(says(`${what} (aligned)`));
  else if (!dmarcDecides && r.aligned && r.result === 'fail') ev.fails.push(says(`${what} (aligned)`));
  else if (r.result === 'pass' && !r.aligned) ev.notes.push(says(`${what}, not aligned with ${fromDomain}`));
}

async function verifyDkim(
  raw: Buffer,
  fromDomain: string,
  opts: VerdictOptions,
): Promise<Evidence & { checks: DkimCheck[] }> {
  const ev: Evidence = { passes: [], fails: [], notes: [] };
  const checks: DkimCheck[] = [];
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const resolve = opts.resolver ?? ((name: string, rrtype: string) => dns.promises.resolve(name, rrtype));
  const resolver: DNSResolver = async (name, rrtype) => {
    const left = deadline - Date.now();
    if (left <= 0) throw dnsTimeout();
    return (await within(resolve(name, rrtype), left, dnsTimeout)) as string[][];
  };

  let results: DKIMResult[];
  try {
    const verified = await within(dkimVerify(raw, { resolver }), timeoutMs + GRACE_MS, () =>
      Object.assign(new Error(`DKIM verification took longer than ${timeoutMs} ms`), { code: 'ETIMEOUT' }),
    );
    results = verified.results;
  } catch (err) {
    ev.notes.push(`DKIM not verified: ${describe(err)}`);
    return { ...ev, checks };
  }

  for (const r of results.slice(0, MAX_LISTED)) {
    const result = clean(String(r.status?.result ?? 'none'), 32);
    const comment = r.status?.comment ? clean(String(r.status.comment), 200) : undefined;
    if (!r.signingDomain) {
      ev.notes.push(result === 'none' ? 'message has no DKIM signature' : `DKIM: ${result}`);
      continue;
    }
    const domain = domainOf(r.signingDomain);
    const check: DkimCheck = { domain, result, aligned: aligned(domain, fromDomain) };
    if (r.selector) check.selector = clean(r.selector, 255);
    if (comment) check.comment = comment;
    checks.push(check);

    const by = `DKIM signature by ${domain || 'an invalid domain'}`;
    const broken = result === 'fail' || (result === 'neutral' && comment === 'body hash did not verify');
    if (result === 'pass' && check.aligned) ev.passes.push(`${by} verified`);
    else if (result === 'pass') ev.notes.push(`${by} verified, but not aligned with ${fromDomain}`);
    else if (broken)
      (check.aligned ? ev.fails : ev.notes).push(`${by} does not verify (${comment ?? 'bad signature'})`);
    else ev.notes.push(`${by} not verified (${result}${comment ? `: ${comment}` : ''})`);
  }
  return { ...ev, checks };
}

function domainOf(addressOrDomain: string): string {
  const s = cleanText(addressOrDomain);
  const d = s
    .slice(s.lastIndexOf('@') + 1)
    .trim()
    .replace(/\.$/, '');
  return d && d.length <= 253 ? domainToASCII(d.toLowerCase()) : '';
}

/** Relaxed alignment: the same organisational domain by the Public Suffix List. */
function aligned(domain: string, fromDomain: string): boolean {
  if (!domain || !fromDomain) return false;
  const org = (d: string) => getDomain(d, { allowPrivateDomains: true }) ?? d;
  return org(domain) === org(fromDomain);
}

function within<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const dnsTimeout = () => Object.assign(new Error('DNS lookup timed out'), { code: 'ETIMEOUT' });

function describe(err: unknown): string {
  return clean(err instanceof Error ? err.message : String(err), 200);
}

const clean = (s: string, max: number) => cleanText(s).slice(0, max).toWellFormed();
