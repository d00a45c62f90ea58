import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import type { ImapConfig } from '../../server/config';
import { casesTagged, entryFor, inbound, type CaseView } from '../support/conversation';
import { startDesk, type Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose } from '../support/mail';
import { waitFor } from '../support/wait';

/**
 * What the PWA reads: each email with its sender verdict, its classification, sanitised HTML and
 * attachments that download as files. DNS for DKIM is a local table holding one test key.
 */

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const SIGNED_DOMAIN = 'partner.example.com';
const dkimTxt = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const resolver = async (name: string, rrtype: string) => {
  if (rrtype === 'TXT' && name.toLowerCase() === `s1._domainkey.${SIGNED_DOMAIN}`) return [[dkimTxt]];
  throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
};

async function dkimSigned(raw: Buffer): Promise<Buffer> {
  const key = {
    signingDomain: SIGNED_DOMAIN,
    selector: 's1',
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const { signatures } = await dkimSign(raw, { ...key, signatureData: [key] });
  return Buffer.concat([Buffer.from(signatures), raw]);
}

let desk: Desk;
let box: ImapConfig;
beforeAll(async () => {
  box = await newMailbox('timeline');
  desk = await startDesk({ mailbox: box, resolver });
});
afterAll(() => desk.stop());

async function openCase(raw: Buffer, tag: string): Promise<CaseView> {
  await appendMessages(box, [raw]);
  const [c] = await waitFor('the case', async () => {
    const found = await casesTagged(desk, tag);
    return found.length === 1 ? found : null;
  });
  return c!;
}

describe('when a report arrives with hostile HTML and an attachment', () => {
  let c: CaseView;
  const pdf = Buffer.from('%PDF-1.4\n<script>alert(1)</script>\n');

  beforeAll(async () => {
    const tag = uniqueName('html');
    c = await openCase(
      await compose({
        subject: `Strange page ${tag}`,
        text: 'See the HTML.',
        html:
          '<p onclick="steal()">Look <a href="javascript:alert(1)">here</a> and ' +
          '<a href="https://wiki.example.org/page">there</a></p>' +
          '<script>alert(document.cookie)</script><img src="https://tracker.example.net/p.gif">' +
          '<img src=x onerror="alert(2)"><iframe src="https://evil.example"></iframe>',
        attachments: [{ filename: 'report "final".html', content: pdf, contentType: 'text/html' }],
      }),
      tag,
    );
  });

  it('then the API gives the HTML sanitised: no script, handler, javascript: URL, frame or remote image', () => {
    const email = inbound(c)[0]!.email! as NonNullable<ReturnType<typeof inbound>[number]['email']> & {
      blockedImages: number;
    };
    const html = email.html!;
    expect(html).toContain('Look');
    expect(html).toMatch(
      /<a href="https:\/\/wiki\.example\.org\/page"[^>]*rel="noopener noreferrer nofollow"/,
    );
    for (const bad of [
      /<script/i,
      /onclick/i,
      /onerror/i,
      /javascript:/i,
      /<iframe/i,
      /tracker\.example\.net/,
    ])
      expect(html).not.toMatch(bad);
    expect(email.blockedImages).toBeGreaterThanOrEqual(1);
  });

  it('then an email entry carries the fields the PWA shows, with the verdict and classification', () => {
    const email = inbound(c)[0]!.email!;
    expect(email).toMatchObject({
      direction: 'in',
      subject: expect.stringContaining('Strange page'),
      verdict: { verdict: 'none' },
      classification: { kind: 'human' },
    });
    expect(email.messageId).toMatch(/^<.+@.+>$/);
    expect(email.from?.address).toMatch(/@example\.org$/);
    expect(email.to).toEqual([]);
  });

  it('then the attachment downloads as a file that no browser will render', async () => {
    const [meta] = inbound(c)[0]!.email!.attachments;
    expect(meta!.url).toBe(`/api/cases/${c.key}/attachments/${meta!.sha256}`);
    const res = await fetch(desk.url + meta!.url, { headers: { authorization: `Bearer ${desk.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="report _final_.html"/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await res.arrayBuffer()).equals(pdf)).toBe(true);
  });

  it('then an attachment is not served under another case’s key, nor to anonymous callers', async () => {
    const [meta] = inbound(c)[0]!.email!.attachments;
    const otherTag = uniqueName('other');
    const other = await openCase(await compose({ subject: `Other ${otherTag}`, text: 'x' }), otherTag);
    const res = await desk.api(`/api/cases/${other.key}/attachments/${meta!.sha256}`);
    expect(res.status).toBe(404);
    expect((await fetch(desk.url + meta!.url)).status).toBe(401);
  });
});

describe('when a sender outside the case quotes its key', () => {
  it('then a DKIM-verified sender joins, as a verified sender', async () => {
    const tag = uniqueName('dkim');
    const c = await openCase(
      await compose({ subject: `Shared drive access ${tag}`, text: 'Who has access?' }),
      tag,
    );
    const raw = await dkimSigned(
      await compose({
        from: `Vendor <support@${SIGNED_DOMAIN}>`,
        subject: `Re: [${c.key}] access review`,
        text: 'We removed the old accounts.',
      }),
    );
    await appendMessages(box, [raw]);
    const { entry } = await entryFor(desk, c.key, raw);
    expect(entry.verdict?.verdict).toBe('pass');
    expect(entry.thread).toEqual({ by: 'subject-key', trusted: true });
  });
});

describe('when the register lists cases', () => {
  it('then each row says whether the report that opened it came from a verified sender', async () => {
    const tag = uniqueName('verdict');
    const signed = await openCase(
      await dkimSigned(
        await compose({
          from: `Partner <security@${SIGNED_DOMAIN}>`,
          subject: `Leaked token in a public repo ${tag}a`,
          text: 'One of your API tokens is in a public repository.',
        }),
      ),
      `${tag}a`,
    );
    const plain = await openCase(await compose({ subject: `Printer jam ${tag}b`, text: 'x' }), `${tag}b`);
    const list = await desk.api<{ cases: { key: string; senderVerdict: string }[] }>(`/api/cases?q=${tag}`);
    const verdicts = Object.fromEntries(list.body.cases.map((c) => [c.key, c.senderVerdict]));
    expect(verdicts).toEqual({ [signed.key]: 'pass', [plain.key]: 'none' });
  });
});

describe('when a client asks for the playbook', () => {
  it('then it gets the types and severities to offer, in the playbook’s order, with no suggestion rules', async () => {
    const res = await desk.api<{
      defaultType: string;
      types: { id: string; name: string; restricted: boolean }[];
      severities: { id: string; responseMinutes: number; urgent: boolean }[];
    }>('/api/playbook');
    expect(res.status).toBe(200);
    expect(res.body.types.map((t) => t.id)).toEqual(['SUP', 'INC', 'DEV', 'ABU', 'DAT', 'PHI']);
    expect(res.body.types.find((t) => t.id === 'DAT')).toMatchObject({
      name: 'Data incident',
      restricted: true,
    });
    expect(res.body.severities.map((s) => [s.id, s.responseMinutes, s.urgent])).toEqual([
      ['SEV1', 15, true],
      ['SEV2', 120, true],
      ['SEV3', 1440, false],
      ['SEV4', 4320, false],
    ]);
    expect(Object.keys(res.body).sort()).toEqual(['defaultType', 'severities', 'types']);
  });
});
