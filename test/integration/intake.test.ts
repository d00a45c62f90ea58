import { randomBytes, createHash } from 'node:crypto';
import type { ImapConfig } from '../../server/config';
import { getBlob } from '../../server/db/blobs';
import { listQuarantine } from '../../server/intake/quarantine';
import { sha256 } from '../../server/lib/hash';
import { Inbound, Quarantine } from '../../server/intake/store';
import { startDesk, type Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose, deliverLmtp } from '../support/mail';
import { waitFor } from '../support/wait';
import { caughtUp } from '../support/caught-up';

interface CaseJson {
  key: string;
  type: string;
  severity: string;
  status: string;
  subject: string;
  restricted: boolean;
  reporter: { address: string };
  suggestion: { type: string; severity: string; reasons: string[] };
  timeline: {
    kind: string;
    at: string;
    email?: {
      text: string;
      subject: string;
      flags: string[];
      classification: { kind: string; reasons: string[] };
      rawSha256: string;
      attachments: { filename: string; size: number; sha256: string }[];
    };
  }[];
}

let desk: Desk;
let box: ImapConfig;

beforeAll(async () => {
  box = await newMailbox('intake');
  desk = await startDesk({ mailbox: box });
  await waitFor('the mailbox to be in sync', () => desk.poller!.status().lastSyncAt);
});
afterAll(() => desk.stop());

async function casesMatching(marker: string) {
  const { body } = await desk.api<{ cases: CaseJson[] }>(
    `/api/cases?q=${encodeURIComponent(marker)}&limit=200`,
  );
  return body.cases;
}

async function onlyCase(marker: string, timeoutMs = 30_000): Promise<CaseJson> {
  const [found] = await waitFor(
    `a case for ${marker}`,
    async () => {
      const cases = await casesMatching(marker);
      return cases.length > 0 ? cases : undefined;
    },
    timeoutMs,
  );
  // The case and its first entry are written side by side: wait for the entry too.
  return waitFor(`the first entry of ${found!.key}`, async () => {
    const { body } = await desk.api<CaseJson>(`/api/cases/${found!.key}`);
    return body.timeline.length > 0 ? body : undefined;
  });
}

const settled = () => caughtUp(box);

const rawWithout = (raw: Buffer, header: string) =>
  Buffer.from(raw.toString('latin1').replace(new RegExp(`^${header}:.*\\r\\n`, 'im'), ''), 'latin1');

describe('when a report arrives by mail', () => {
  it('then it becomes one draft case with a suggested type, severity and reasons', async () => {
    const marker = uniqueName('outage');
    await deliverLmtp(
      await compose({
        to: box.user,
        from: 'Ana R. <ana@example.org>',
        subject: `Our website is down ${marker}`,
        text: 'Since 08:15 UTC the public site returns an error page for everyone.',
      }),
      box.user,
    );
    const c = await onlyCase(marker);
    expect(c).toMatchObject({
      type: 'INC',
      severity: 'SEV1',
      status: 'New',
      reporter: { address: 'ana@example.org' },
    });
    expect(c.key).toMatch(/^INC-\d{4}-\d{3,}$/);
    expect(c.suggestion.reasons.join(' ')).toContain("'is down'");
    expect(c.timeline).toHaveLength(1);
    expect(c.timeline[0]!.kind).toBe('email');
    expect(c.timeline[0]!.email!.text).toContain('returns an error page');
  });

  it('then a stolen phone is a restricted DEV case, and a forwarded message is a PHI case', async () => {
    const dev = uniqueName('dev');
    const phi = uniqueName('phi');
    const inner = await compose({
      from: 'it-support@examp1e.com',
      subject: 'Verify your mailbox',
      text: 'Click here',
    });
    await appendMessages(box, [
      await compose({
        to: box.user,
        subject: `Phone stolen ${dev}`,
        text: 'My phone was stolen on the train.',
      }),
      await compose({
        to: box.user,
        subject: `Fwd: weird mail ${phi}`,
        text: 'See attached.',
        attachments: [{ filename: 'original.eml', content: inner, contentType: 'message/rfc822' }],
      }),
    ]);
    const devCase = await onlyCase(dev);
    expect(devCase).toMatchObject({ type: 'DEV', restricted: true });
    expect(devCase.suggestion.reasons.join(' ')).toMatch(/'stolen'.*'phone'/);
    const phiCase = await onlyCase(phi);
    expect(phiCase.type).toBe('PHI');
    expect(phiCase.suggestion.reasons.join(' ')).toContain('message/rfc822');
  });

  it('then an [URGENT] marker alone makes an urgent incident, with the marker as the reason', async () => {
    const marker = uniqueName('urgent');
    await appendMessages(box, [
      await compose({ to: box.user, subject: `[URGENT] please call me ${marker}`, text: 'Call me back.' }),
    ]);
    const c = await onlyCase(marker);
    expect(c).toMatchObject({ type: 'INC', severity: 'SEV2' });
    expect(c.suggestion.reasons.join(' ')).toContain('urgent marker');
  });
});

describe('when the mailbox is connected', () => {
  it('then /readyz is 200 and reports the mailbox state and last sync time', async () => {
    // The sync that wrote the last case may still be finishing (marking it done, moving the
    // cursor): readyz says `syncing` then, and `idle` once it is through.
    await caughtUp(box);
    const body = await waitFor('readyz to say idle', async () => {
      const res = await fetch(`${desk.url}/readyz`);
      expect(res.status).toBe(200);
      const json = (await res.json()) as { mailbox: { state: string; lastSyncAt: string; mailbox: string } };
      return json.mailbox.state === 'idle' ? json : null;
    });
    expect(body.mailbox).toMatchObject({ state: 'idle', mailbox: 'INBOX' });
    expect(Date.parse(body.mailbox.lastSyncAt)).toBeGreaterThan(0);
  });
});

describe('when mail waited in the mailbox before Tocsin saw it', () => {
  it('then the case is first seen when the mailbox received it (INTERNALDATE), not when Tocsin read it', async () => {
    const marker = uniqueName('internaldate');
    const arrived = new Date('2026-04-24T08:15:00Z');
    await appendMessages(
      box,
      [await compose({ to: box.user, subject: `Old ${marker}`, text: 'from before' })],
      'INBOX',
      arrived,
    );
    const c = await onlyCase(marker);
    expect(new Date((c as unknown as { firstSeenAt: string }).firstSeenAt).toISOString()).toBe(
      arrived.toISOString(),
    );
    expect(c.key).toMatch(/^SUP-2026-/);
  });
});

describe('when a machine writes to the desk', () => {
  it('then a delivery report that matches no case opens none: it is quarantined with the reason', async () => {
    const marker = uniqueName('dsn');
    const dsn = Buffer.from(
      [
        'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
        `To: ${box.user}`,
        `Subject: Undelivered Mail Returned to Sender ${marker}`,
        `Message-ID: <${marker}@mx.example.net>`,
        'Auto-Submitted: auto-replied',
        'MIME-Version: 1.0',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"',
        '',
        '--r',
        'Content-Type: text/plain',
        '',
        'I could not deliver your message.',
        '--r',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.example.net',
        '',
        'Final-Recipient: rfc822; gone@example.org',
        'Action: failed',
        'Status: 5.1.1',
        '--r--',
        '',
      ].join('\r\n'),
    );
    await appendMessages(box, [dsn]);
    const held = await waitFor('the quarantine record', () =>
      Quarantine.findById(`raw:${sha256(dsn)}`).lean(),
    );
    expect(held.reason).toMatch(/^machine-written message, bounce \(.*delivery-status.*\), matched no case$/);
    expect((await desk.api<{ cases: unknown[] }>(`/api/cases?q=${marker}`)).body.cases).toHaveLength(0);

    const human = uniqueName('human');
    await appendMessages(box, [
      await compose({ to: box.user, subject: `Wiki question ${human}`, text: 'How do I edit?' }),
    ]);
    expect((await onlyCase(human)).timeline[0]!.email!.classification).toEqual({
      kind: 'human',
      reasons: [],
    });
  });
});

describe('when the committee lists the register', () => {
  it('then filters narrow it, newest come first, and pages follow each other without overlap', async () => {
    const marker = uniqueName('register');
    for (const subject of ['Website is down', 'Phone stolen', 'Printer question', 'Site down again']) {
      await appendMessages(box, [
        await compose({ to: box.user, subject: `${subject} ${marker}`, text: subject }),
      ]);
      await onlyCase(`${subject} ${marker}`);
    }
    const inc = await desk.api<{ cases: CaseJson[] }>(`/api/cases?type=INC&q=${marker}`);
    expect(inc.body.cases.map((c) => c.subject)).toEqual([
      `Site down again ${marker}`,
      `Website is down ${marker}`,
    ]);
    const sev = await desk.api<{ cases: CaseJson[] }>(`/api/cases?severity=SEV2&status=New&q=${marker}`);
    expect(sev.body.cases.map((c) => c.type)).toEqual(['DEV']);

    const first = await desk.api<{ cases: CaseJson[]; next: number | null }>(
      `/api/cases?q=${marker}&limit=3`,
    );
    expect(first.body.cases).toHaveLength(3);
    expect(first.body.next).toBe(3);
    const second = await desk.api<{ cases: CaseJson[]; next: number | null }>(
      `/api/cases?q=${marker}&limit=3&offset=${first.body.next}`,
    );
    expect(second.body.cases.map((c) => c.subject)).toEqual([`Website is down ${marker}`]);
    expect(second.body.next).toBeNull();
  });
});

describe('when the same message arrives more than once', () => {
  it('then two LMTP deliveries and an APPEND of one message make one case with one timeline entry', async () => {
    const marker = uniqueName('twice');
    const raw = await compose({ to: box.user, subject: `Printer help ${marker}`, text: 'The printer jams.' });
    await deliverLmtp(raw, box.user);
    await deliverLmtp(raw, box.user);
    await appendMessages(box, [raw]);
    await onlyCase(marker);
    await settled();
    const cases = await casesMatching(marker);
    expect(cases).toHaveLength(1);
    const { body } = await desk.api<CaseJson>(`/api/cases/${cases[0]!.key}`);
    expect(body.timeline).toHaveLength(1);
  });

  it('then a message without a Message-ID is known by its bytes', async () => {
    const marker = uniqueName('noid');
    const raw = rawWithout(
      await compose({ to: box.user, subject: `No id ${marker}`, text: 'hello' }),
      'Message-ID',
    );
    expect(raw.toString()).not.toMatch(/^Message-ID:/im);
    await appendMessages(box, [raw, raw]);
    await onlyCase(marker);
    await settled();
    expect(await casesMatching(marker)).toHaveLength(1);
  });

  it('then a reused Message-ID with different content is ingested and flagged', async () => {
    const marker = uniqueName('reused');
    const messageId = `<${marker}@example.org>`;
    await appendMessages(box, [
      await compose({ to: box.user, messageId, subject: `First ${marker}`, text: 'one' }),
    ]);
    await onlyCase(`First ${marker}`);
    await appendMessages(box, [
      await compose({ to: box.user, messageId, subject: `Second ${marker}`, text: 'two, different' }),
    ]);
    const second = await onlyCase(`Second ${marker}`);
    expect(second.timeline[0]!.email!.flags).toContain('message-id-reused');
    expect(await casesMatching(marker)).toHaveLength(2);
  });
});

describe('when mail is hostile or broken', () => {
  it('then a message over the size cap is quarantined with its headers, and the next one is processed', async () => {
    const big = uniqueName('big');
    const after = uniqueName('after');
    await appendMessages(box, [
      await compose({
        to: box.user,
        subject: `Logs attached ${big}`,
        text: 'see attachment',
        attachments: [{ filename: 'dump.bin', content: randomBytes(20 * 1024 * 1024) }],
      }),
      await compose({ to: box.user, subject: `Small one ${after}`, text: 'still here' }),
    ]);
    await onlyCase(after, 60_000);
    const q = await waitFor('the quarantine record', async () =>
      (await listQuarantine()).find((item) => item.headers?.some((h) => h.value?.includes(big))),
    );
    expect(q.reason).toContain('IMAP_MAX_MESSAGE_BYTES');
    expect(q.size).toBeGreaterThan(25 * 1024 * 1024);
    expect(await casesMatching(big)).toHaveLength(0);
  });

  it('then under a raised cap the 20 MB attachment is stored byte for byte with its SHA-256', async () => {
    const bigBox = await newMailbox('bigcap', { maxMessageBytes: 40 * 1024 * 1024 });
    const marker = uniqueName('bigok');
    const content = randomBytes(20 * 1024 * 1024);
    await appendMessages(bigBox, [
      await compose({
        to: bigBox.user,
        subject: `Full dump ${marker}`,
        text: 'attached',
        attachments: [{ filename: 'dump.bin', content }],
      }),
    ]);
    const poller = desk.startPoller(bigBox);
    try {
      const c = await onlyCase(marker, 90_000);
      const [attachment] = c.timeline[0]!.email!.attachments;
      const sha = createHash('sha256').update(content).digest('hex');
      expect(attachment).toMatchObject({ filename: 'dump.bin', size: content.length, sha256: sha });
      expect((await getBlob(sha))!.equals(content)).toBe(true);
    } finally {
      await poller.stop();
    }
  });

  it('then a 200-level MIME nesting becomes a case from its headers, flagged, with the raw bytes kept', async () => {
    const marker = uniqueName('deep');
    let body = 'deep text\r\n';
    for (let i = 199; i >= 0; i--) {
      body = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${body}\r\n--b${i}--\r\n`;
    }
    const raw = Buffer.from(
      `From: Deep <deep@example.org>\r\nTo: ${box.user}\r\nSubject: Nested ${marker}\r\nMessage-ID: <${marker}@example.org>\r\nMIME-Version: 1.0\r\n${body}`,
    );
    await appendMessages(box, [raw]);
    const c = await onlyCase(marker);
    const entry = c.timeline[0]!.email!;
    expect(entry.flags).toContain('body-not-parsed');
    expect(entry.text).toContain('MIME nesting deeper than');
    expect((await getBlob(entry.rawSha256))!.equals(raw)).toBe(true);
  });

  it('then an unterminated boundary still yields the text', async () => {
    const marker = uniqueName('unterminated');
    const raw = Buffer.from(
      `From: a@example.org\r\nTo: ${box.user}\r\nSubject: Cut ${marker}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="zz"\r\n\r\n--zz\r\nContent-Type: text/plain\r\n\r\nthe login page is broken\r\n--zz\r\nContent-Type: text/plain\r\n\r\nand then the message just stops`,
    );
    await appendMessages(box, [raw]);
    const c = await onlyCase(marker);
    expect(c.timeline[0]!.email!.text).toContain('the login page is broken');
  });

  // Dovecot itself turns NUL into 0x80 on delivery, so NUL reaches us only from other sources:
  // this one goes through the intake entry point that `tocsin ingest` uses.
  it('then NUL bytes are dropped from the text and kept in the raw evidence', async () => {
    const marker = uniqueName('nul');
    const raw = Buffer.concat([
      Buffer.from(
        `From: n@example.org\r\nTo: ${box.user}\r\nSubject: Nul ${marker}\r\nMessage-ID: <${marker}@example.org>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbefore`,
      ),
      Buffer.from([0, 0]),
      Buffer.from('after\r\n'),
    ]);
    await desk.intake.ingestOrQuarantine(raw, { kind: 'file', file: 'nul.eml' });
    const c = await onlyCase(marker);
    const entry = c.timeline[0]!.email!;
    expect(entry.text).toContain('beforeafter');
    expect(entry.text).not.toContain('\u0000');
    expect(
      (await getBlob(entry.rawSha256))!.includes(Buffer.from([0x62, 0x65, 0x66, 0x6f, 0x72, 0x65, 0, 0])),
    ).toBe(true);
  });

  it('then a broken charset and invalid UTF-8 give valid text, not a crash', async () => {
    const marker = uniqueName('charset');
    const raw = Buffer.concat([
      Buffer.from(
        `From: c@example.org\r\nTo: ${box.user}\r\nSubject: =?x-no-such-charset?B?SGVsbG8=?= ${marker}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset="x-no-such-charset"\r\nContent-Transfer-Encoding: 8bit\r\n\r\nbad `,
      ),
      Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80, 0xff]),
      Buffer.from(' bytes\r\n'),
    ]);
    await appendMessages(box, [raw]);
    const c = await onlyCase(marker);
    const text = c.timeline[0]!.email!.text;
    expect(text).toContain('bytes');
    expect(text.isWellFormed()).toBe(true);
    const stored = await Inbound.findOne({
      rawSha256: createHash('sha256').update(raw).digest('hex'),
    }).lean();
    expect(stored?.state).toBe('done');
  });
});
