import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import { parseMessage } from '../../server/mail/parse';
import { parseAuthResults } from '../../server/mail/auth-results';
import { senderVerdict, type SenderVerdict, type VerdictOptions } from '../../server/mail/verdict';

const CORPUS = path.resolve(__dirname, '..', 'fixtures', 'sisimai', 'maildir', 'bsd');
const TRUSTED = 'mx.example.net';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PRIVATE_PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const TXT = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;

const dnsError = (code: string, name: string) =>
  Object.assign(new Error(`queryTxt ${code} ${name}`), { code });

/** A local DNS: serves our public key at `<selector>._domainkey.<domain>` for the given keys, counts lookups. */
function fakeDns(...names: string[]) {
  const lookups: string[] = [];
  const resolver = async (name: string, rrtype: string) => {
    lookups.push(`${rrtype} ${name}`);
    if (rrtype === 'TXT' && names.includes(name.toLowerCase())) return [[TXT]];
    throw dnsError('ENOTFOUND', name);
  };
  return { resolver, lookups };
}

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'));

/** A person's message from ada@<fromDomain>, with `extra` header lines on top. */
const message = (
  fromDomain = 'example.org',
  body = 'The freezer at the food bank is broken.',
  extra: string[] = [],
) =>
  crlf(
    ...extra,
    `From: Ada Lovelace <ada@${fromDomain}>`,
    'To: desk@committee.example',
    'Subject: Freezer',
    'Date: Mon, 06 Jan 2025 10:00:00 +0000',
    `Message-ID: <freezer@${fromDomain}>`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  );

async function sign(raw: Buffer, signingDomain: string, selector = 's1'): Promise<Buffer> {
  const key = { signingDomain, selector, privateKey: PRIVATE_PEM };
  // mailauth's typings ask for the key at the top level, but only signatureData is used.
  const { signatures, errors } = await dkimSign(raw, { ...key, signatureData: [key] });
  expect(errors).toEqual([]);
  expect(signatures).toMatch(new RegExp(`^DKIM-Signature: .* d=${signingDomain};`, 's'));
  return Buffer.concat([Buffer.from(signatures), raw]);
}

/** Prepends header lines, as a receiving server does after the signature was made. */
const prepend = (raw: Buffer, ...lines: string[]) => Buffer.concat([crlf(...lines, ''), raw]);

/** The intake path: parse, then judge with the parsed headers and From address. */
async function judge(raw: Buffer, opts: Partial<VerdictOptions> = {}): Promise<SenderVerdict> {
  const parsed = await parseMessage(raw);
  return senderVerdict(raw, parsed.headers, parsed.from?.address, {
    authservIds: [TRUSTED],
    resolver: fakeDns().resolver,
    ...opts,
  });
}

describe('senderVerdict: our own DKIM verification', () => {
  it('when the From domain signed the message, then pass, naming the signature', async () => {
    const dns = fakeDns('s1._domainkey.example.org');
    const raw = await sign(message(), 'example.org');

    const v = await judge(raw, { resolver: dns.resolver });

    expect(v.verdict).toBe('pass');
    expect(v.fromDomain).toBe('example.org');
    expect(v.reasons[0]).toBe('DKIM signature by example.org verified');
    expect(v.dkim).toEqual([{ domain: 'example.org', selector: 's1', result: 'pass', aligned: true }]);
    expect(dns.lookups).toEqual(['TXT s1._domainkey.example.org']);
  });

  it('when a subdomain of the From domain signed, then pass (relaxed alignment)', async () => {
    const dns = fakeDns('s1._domainkey.mail.example.org');
    const raw = await sign(message(), 'mail.example.org');

    const v = await judge(raw, { resolver: dns.resolver });

    expect(v.verdict).toBe('pass');
    expect(v.dkim?.[0]).toMatchObject({ domain: 'mail.example.org', aligned: true });
  });

  it('when the body was changed after signing, then fail with the body hash mismatch', async () => {
    const signed = await sign(message(), 'example.org');
    const tampered = Buffer.from(signed.toString().replace('is broken', 'is fine, send money'));

    const v = await judge(tampered, { resolver: fakeDns('s1._domainkey.example.org').resolver });

    expect(v.verdict).toBe('fail');
    expect(v.reasons[0]).toBe('DKIM signature by example.org does not verify (body hash did not verify)');
    expect(v.dkim?.[0]).toMatchObject({
      result: 'neutral',
      aligned: true,
      comment: 'body hash did not verify',
    });
  });

  it('when a signed header was changed after signing, then fail with a bad signature', async () => {
    const signed = await sign(message(), 'example.org');
    const tampered = Buffer.from(signed.toString().replace('Subject: Freezer', 'Subject: Invoice'));

    const v = await judge(tampered, { resolver: fakeDns('s1._domainkey.example.org').resolver });

    expect(v.verdict).toBe('fail');
    expect(v.dkim?.[0]).toMatchObject({ result: 'fail', comment: 'bad signature', aligned: true });
  });

  it('when an unrelated domain signed, then none: the signature verifies but says nothing of the From', async () => {
    const raw = await sign(message(), 'mailer.example.com');

    const v = await judge(raw, { resolver: fakeDns('s1._domainkey.mailer.example.com').resolver });

    expect(v.verdict).toBe('none');
    expect(v.reasons).toContain(
      'DKIM signature by mailer.example.com verified, but not aligned with example.org',
    );
    expect(v.dkim).toEqual([
      { domain: 'mailer.example.com', selector: 's1', result: 'pass', aligned: false },
    ]);
  });

  it('when a sibling under a public suffix signed (evil.co.uk for bank.co.uk), then it is not aligned', async () => {
    const raw = await sign(message('bank.co.uk'), 'evil.co.uk');

    const v = await judge(raw, { resolver: fakeDns('s1._domainkey.evil.co.uk').resolver });

    expect(v.verdict).toBe('none');
    expect(v.dkim?.[0]).toMatchObject({ domain: 'evil.co.uk', result: 'pass', aligned: false });
  });

  it('when an unrelated signature is broken, then none, not fail', async () => {
    const signed = await sign(message(), 'mailer.example.com');
    const tampered = Buffer.from(signed.toString().replace('is broken', 'is fixed'));

    const v = await judge(tampered, { resolver: fakeDns('s1._domainkey.mailer.example.com').resolver });

    expect(v.verdict).toBe('none');
    expect(v.reasons).toContain(
      'DKIM signature by mailer.example.com does not verify (body hash did not verify)',
    );
  });

  it('when the message is not signed, then none and no lookup is made', async () => {
    const dns = fakeDns();

    const v = await judge(message(), { resolver: dns.resolver });

    expect(v).toEqual({
      verdict: 'none',
      fromDomain: 'example.org',
      reasons: [
        'no trusted Authentication-Results (authserv-id mx.example.net)',
        'message has no DKIM signature',
      ],
      dkim: [],
    });
    expect(dns.lookups).toEqual([]);
  });

  it('when the key is not in DNS (ENOTFOUND), then none with "no key"', async () => {
    const raw = await sign(message(), 'example.org');

    const v = await judge(raw, { resolver: fakeDns().resolver });

    expect(v.verdict).toBe('none');
    expect(v.reasons).toContain('DKIM signature by example.org not verified (neutral: no key)');
  });

  it('when DNS fails (SERVFAIL), then none with a temperror reason', async () => {
    const raw = await sign(message(), 'example.org');
    const resolver = async (name: string) => {
      throw dnsError('ESERVFAIL', name);
    };

    const v = await judge(raw, { resolver });

    expect(v.verdict).toBe('none');
    expect(v.dkim?.[0]).toMatchObject({ result: 'temperror', comment: 'DNS failure: ESERVFAIL' });
    expect(v.reasons).toContain(
      'DKIM signature by example.org not verified (temperror: DNS failure: ESERVFAIL)',
    );
  });

  it('when the resolver never answers, then the deadline ends the lookup and the verdict is none', async () => {
    const raw = await sign(message(), 'example.org');
    const resolver = () => new Promise<never>(() => {});
    const started = Date.now();

    const v = await judge(raw, { resolver, timeoutMs: 200 });

    expect(Date.now() - started).toBeLessThan(2000);
    expect(v.verdict).toBe('none');
    expect(v.dkim?.[0]).toMatchObject({ result: 'temperror', comment: 'DNS failure: ETIMEOUT' });
  });

  it('when own verification is off, then a good signature is not looked at', async () => {
    const dns = fakeDns('s1._domainkey.example.org');
    const raw = await sign(message(), 'example.org');

    const v = await judge(raw, { resolver: dns.resolver, dkim: false });

    expect(v.verdict).toBe('none');
    expect(v.dkim).toBeUndefined();
    expect(v.reasons).toContain('own DKIM verification is off');
    expect(dns.lookups).toEqual([]);
  });

  it('when a message carries more signatures than the cap, then none are verified', async () => {
    const dns = fakeDns('s1._domainkey.example.org');
    let raw: Buffer = message();
    for (let i = 0; i < 17; i++) raw = await sign(raw, 'example.org');

    const v = await judge(raw, { resolver: dns.resolver });

    expect(v.verdict).toBe('none');
    expect(v.reasons).toContain('17 DKIM signatures is too many; none verified');
    expect(dns.lookups).toEqual([]);
  });

  it('when the DKIM-Signature header is garbage, then none without throwing', async () => {
    const raw = message('example.org', 'body', [
      'DKIM-Signature: v=1; a=rsa-sha256; d=(((; s="; bh=%%%; b=;;;=',
    ]);

    const v = await judge(raw, { resolver: fakeDns('s1._domainkey.example.org').resolver });

    expect(v.verdict).toBe('none');
  });
});

describe('senderVerdict: the provider Authentication-Results', () => {
  const ar = (id: string, rest: string) => `Authentication-Results: ${id};\r\n ${rest}`;

  it('when the trusted A-R says dmarc=pass, then pass without any DNS lookup', async () => {
    const dns = fakeDns();
    const raw = prepend(
      message(),
      ar(TRUSTED, 'dkim=pass header.d=example.org; dmarc=pass header.from=example.org'),
    );

    const v = await judge(raw, { resolver: dns.resolver });

    expect(v.verdict).toBe('pass');
    expect(v.reasons[0]).toBe('mx.example.net says dmarc=pass');
    expect(v.authResults).toEqual({
      authservId: TRUSTED,
      dmarc: { result: 'pass', headerFrom: 'example.org' },
      dkim: [{ result: 'pass', domain: 'example.org', aligned: true }],
    });
    expect(dns.lookups).toEqual([]);
  });

  it('when the trusted A-R says dmarc=fail, then fail', async () => {
    const raw = prepend(
      message(),
      ar(TRUSTED, 'spf=fail smtp.mailfrom=evil.example; dmarc=fail header.from=example.org'),
    );

    const v = await judge(raw);

    expect(v.verdict).toBe('fail');
    expect(v.reasons[0]).toBe('mx.example.net says dmarc=fail');
  });

  it('when the trusted A-R says dmarc=fail but our own aligned DKIM check passes, then pass with both reasons', async () => {
    const signed = await sign(message(), 'example.org');
    const raw = prepend(signed, ar(TRUSTED, 'dmarc=fail header.from=example.org'));

    const v = await judge(raw, { resolver: fakeDns('s1._domainkey.example.org').resolver });

    expect(v.verdict).toBe('pass');
    expect(v.reasons.slice(0, 2)).toEqual([
      'DKIM signature by example.org verified',
      'mx.example.net says dmarc=fail',
    ]);
  });

  it.each([
    ['dkim=pass header.d=example.org', 'pass', 'mx.example.net says dkim=pass for example.org (aligned)'],
    [
      'dkim=pass header.i=@news.example.org',
      'pass',
      'mx.example.net says dkim=pass for news.example.org (aligned)',
    ],
    [
      'spf=pass smtp.mailfrom=bounce@example.org',
      'pass',
      'mx.example.net says spf=pass for example.org (aligned)',
    ],
    ['dkim=fail header.d=example.org', 'fail', 'mx.example.net says dkim=fail for example.org (aligned)'],
    ['spf=fail smtp.mailfrom=example.org', 'fail', 'mx.example.net says spf=fail for example.org (aligned)'],
    [
      'dkim=pass header.d=esp.example.com',
      'none',
      'mx.example.net says dkim=pass for esp.example.com, not aligned with example.org',
    ],
    ['spf=softfail smtp.mailfrom=example.org', 'none', undefined],
    [
      'dkim=fail header.d=example.org; spf=pass smtp.mailfrom=example.org',
      'pass',
      'mx.example.net says spf=pass for example.org (aligned)',
    ],
  ])('when the trusted A-R has no dmarc result but %s, then %s', async (results, verdict, reason) => {
    const raw = prepend(message(), ar(TRUSTED, results));

    const v = await judge(raw);

    expect(v.verdict).toBe(verdict);
    if (reason) expect(v.reasons[0]).toBe(reason);
  });

  it('when dmarc=none (no policy) and dkim passes aligned, then pass from the dkim result', async () => {
    const raw = prepend(
      message(),
      ar(TRUSTED, 'dkim=pass header.d=example.org; dmarc=none header.from=example.org'),
    );

    const v = await judge(raw);

    expect(v.verdict).toBe('pass');
    expect(v.reasons).toEqual([
      'mx.example.net says dkim=pass for example.org (aligned)',
      'mx.example.net says dmarc=none',
      'own DKIM verification skipped: already verified',
    ]);
  });

  it('when a forged A-R with the trusted id sits below the real one, then it is ignored', async () => {
    const raw = prepend(
      message(),
      ar(TRUSTED, 'dmarc=none header.from=example.org'),
      'Received: from attacker.example by mx.example.net',
      ar(TRUSTED, 'dkim=pass header.d=example.org; dmarc=pass header.from=example.org'),
    );

    const v = await judge(raw);

    expect(v.verdict).toBe('none');
    expect(v.authResults?.dmarc).toEqual({ result: 'none', headerFrom: 'example.org' });
    expect(v.ignoredAuthResults).toEqual([{ authservId: TRUSTED, why: 'below-trusted' }]);
    expect(v.reasons).toContain('ignored 1 Authentication-Results header(s): mx.example.net');
  });

  it('when the only A-R comes from an untrusted authserv-id, then it is ignored', async () => {
    const raw = prepend(message(), ar('mx.attacker.example', 'dmarc=pass header.from=example.org'));

    const v = await judge(raw);

    expect(v.verdict).toBe('none');
    expect(v.authResults).toBeUndefined();
    expect(v.ignoredAuthResults).toEqual([{ authservId: 'mx.attacker.example', why: 'not-trusted' }]);
    expect(v.reasons).toContain('no trusted Authentication-Results (authserv-id mx.example.net)');
  });

  it('when a local relay adds its own A-R above the provider one, then the provider one is still the trusted one', async () => {
    const raw = prepend(
      message(),
      ar('relay.committee.example', 'dmarc=fail header.from=example.org'),
      ar('MX.Example.NET', 'dmarc=pass header.from=example.org'),
    );

    const v = await judge(raw);

    expect(v.verdict).toBe('pass');
    expect(v.ignoredAuthResults).toEqual([{ authservId: 'relay.committee.example', why: 'not-trusted' }]);
  });

  it('when no authserv-id is configured, then no A-R is trusted', async () => {
    const raw = prepend(message(), ar(TRUSTED, 'dmarc=pass header.from=example.org'));

    const v = await judge(raw, { authservIds: [] });

    expect(v.verdict).toBe('none');
    expect(v.authResults).toBeUndefined();
    expect(v.reasons).toContain('no authserv-id is configured, so no Authentication-Results is trusted');
  });

  it('when the dmarc result is about another header.from, then it is set aside', async () => {
    const raw = prepend(message(), ar(TRUSTED, 'dmarc=pass header.from=attacker.example'));

    const v = await judge(raw);

    expect(v.verdict).toBe('none');
    expect(v.reasons).toContain(
      'mx.example.net says dmarc=pass about attacker.example, not example.org; set aside',
    );
  });

  it('when the message has two From headers, then none even with dmarc=pass', async () => {
    const raw = prepend(
      message(),
      ar(TRUSTED, 'dmarc=pass header.from=example.org'),
      'From: Mallory <mallory@attacker.example>',
    );

    const v = await judge(raw);

    expect(v.verdict).toBe('none');
    expect(v.reasons[0]).toBe('message has 2 From headers');
  });

  it('when there is no From address, then none', async () => {
    const v = await senderVerdict(message(), [], undefined, { authservIds: [TRUSTED] });

    expect(v).toEqual({ verdict: 'none', fromDomain: '', reasons: ['no From address to verify'] });
  });
});

describe('senderVerdict: hostile input', () => {
  const garbage = [
    '',
    ';;;;',
    '=',
    '(((((((',
    '"unterminated',
    'mx.example.net; dmarc=',
    'mx.example.net; =pass; dkim==; spf',
    'mx.example.net; dmarc=pass (comment (nested) \\) still comment',
    'mx.example.net; __proto__=pass constructor.prototype=x; dmarc=pass header.from="\u0000example.org"',
    `mx.example.net; ${'dkim=pass header.d=example.org; '.repeat(20_000)}`,
    `${'x'.repeat(2_000_000)}`,
  ];

  it.each(
    garbage.map((g) => [g.length > 60 ? `${g.slice(0, 40)}… (${g.length} chars)` : JSON.stringify(g), g]),
  )('when the A-R is %s, then a verdict comes back without throwing', async (_, value) => {
    const headers = [
      { name: 'Authentication-Results', value },
      { name: 'From', value: 'ada@example.org' },
    ];

    const v = await senderVerdict(message(), headers, 'ada@example.org', {
      authservIds: [TRUSTED],
      resolver: fakeDns().resolver,
    });

    expect(['pass', 'fail', 'none']).toContain(v.verdict);
    expect(JSON.stringify(v)).not.toContain('\\u0000');
  });

  it('when the A-R is nested deep in comments and quotes, then what follows is still read', async () => {
    const value =
      'mx.example.net; dkim=pass ((a (b) c) \\) "not a quote) header.d=example.org; dmarc=pass header.from=example.org';

    const v = await senderVerdict(
      Buffer.from(''),
      [{ name: 'Authentication-Results', value }],
      'ada@example.org',
      {
        authservIds: [TRUSTED],
        dkim: false,
      },
    );

    expect(v.verdict).toBe('pass');
  });

  it('when the raw message is not a message at all, then none', async () => {
    const raw = Buffer.from('\u0000\u0001\r\n\r\n\r\nDKIM-Signature: d=example.org\r\n');

    const v = await senderVerdict(raw, [], 'ada@example.org', {
      authservIds: [],
      resolver: fakeDns().resolver,
    });

    expect(v.verdict).toBe('none');
  });

  it('when the authserv-id and From carry NUL characters, then no stored string has one', async () => {
    const headers = [{ name: 'Authentication-Results', value: 'evil\u0000.example; dmarc=pass' }];

    const v = await senderVerdict(message(), headers, 'ada@exa\u0000mple.org', {
      authservIds: [TRUSTED],
      dkim: false,
    });

    expect(v.ignoredAuthResults).toEqual([{ authservId: 'evil.example', why: 'not-trusted' }]);
    expect(JSON.stringify(v)).not.toContain('\\u0000');
  });
});

describe('parseAuthResults (RFC 8601)', () => {
  it('when results carry comments, quoted strings, a version and a method version, then each is read', () => {
    const parsed = parseAuthResults(
      'MX.Google.com 1; dkim/1=pass (2048-bit key) header.i=@example.org header.s="s1" header.b="AbCd=="; ' +
        'spf=pass (google.com: domain of bounce@example.org designates 192.0.2.1 as permitted sender) smtp.mailfrom=bounce@example.org; ' +
        'dmarc=PASS (p=REJECT sp=REJECT dis=NONE) header.from=example.org; iprev=fail reason="no PTR" policy.iprev=192.0.2.1',
    );

    expect(parsed.authservId).toBe('mx.google.com');
    expect(parsed.results.map((r) => [r.method, r.result, r.reason, Object.fromEntries(r.props)])).toEqual([
      ['dkim', 'pass', undefined, { 'header.i': '@example.org', 'header.s': 's1', 'header.b': 'AbCd==' }],
      ['spf', 'pass', undefined, { 'smtp.mailfrom': 'bounce@example.org' }],
      ['dmarc', 'pass', undefined, { 'header.from': 'example.org' }],
      ['iprev', 'fail', 'no PTR', { 'policy.iprev': '192.0.2.1' }],
    ]);
  });

  it('when the header is "authserv-id; none", then there are no results', () => {
    expect(parseAuthResults('mx.example.net; none')).toEqual({ authservId: 'mx.example.net', results: [] });
  });

  it('when the header starts with a result (Exchange Online), then it has no authserv-id', () => {
    const parsed = parseAuthResults(
      'spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.org; dkim=pass (signature was verified) header.d=example.org;dmarc=pass action=none header.from=example.org;compauth=pass reason=100',
    );

    expect(parsed.authservId).toBe('');
    expect(parsed.results.map((r) => `${r.method}=${r.result}`)).toEqual([
      'spf=pass',
      'dkim=pass',
      'dmarc=pass',
      'compauth=pass',
    ]);
  });
});

describe('senderVerdict over the sisimai corpus (629 real bounces, no DNS)', () => {
  const verdicts = new Map<string, SenderVerdict>();
  let elapsed = 0;
  let lookups = 0;

  beforeAll(async () => {
    const resolver = async (name: string) => {
      lookups++;
      throw dnsError('ECONNREFUSED', name);
    };
    for (const file of fs.readdirSync(CORPUS).sort()) {
      const raw = fs.readFileSync(path.join(CORPUS, file));
      const parsed = await parseMessage(raw);
      const started = performance.now();
      verdicts.set(
        file,
        await senderVerdict(raw, parsed.headers, parsed.from?.address, {
          authservIds: ['mx.google.com'],
          resolver,
        }),
      );
      elapsed += performance.now() - started;
    }
  });

  it('when every message is judged, then each gets a defined verdict with reasons, in well under a second each', () => {
    expect(verdicts.size).toBe(629);
    for (const v of verdicts.values()) {
      expect(['pass', 'fail', 'none']).toContain(v.verdict);
      expect(v.reasons.length).toBeGreaterThan(0);
    }
    expect(elapsed / verdicts.size).toBeLessThan(100);
  });

  it('when DNS is unavailable, then a pass can only come from the trusted mx.google.com results', () => {
    for (const v of verdicts.values())
      if (v.verdict === 'pass') expect(v.reasons[0]).toMatch(/^mx\.google\.com says /);
  });

  it('when the corpus is judged with mx.google.com trusted, then 28 pass on its word, 43 fail and the rest are none', () => {
    const count = (verdict: string) => [...verdicts.values()].filter((v) => v.verdict === verdict).length;
    expect([count('pass'), count('fail'), count('none')]).toEqual([28, 43, 558]);
  });

  it('when a message fails, then the reason is an aligned signature whose body changed', () => {
    for (const v of verdicts.values())
      if (v.verdict === 'fail')
        expect(v.reasons[0]).toMatch(/^DKIM signature by \S+ does not verify \(body hash did not verify\)$/);
  });

  it('when a signature fails its body hash (the corpus is anonymised), then no key is looked up', () => {
    const checks = [...verdicts.values()].flatMap((v) => v.dkim ?? []);
    expect(checks.length).toBeGreaterThan(40);
    for (const d of checks)
      expect(d).toMatchObject({ result: 'neutral', comment: 'body hash did not verify' });
    expect(lookups).toBe(0);
  });
});
