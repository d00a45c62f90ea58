import fs from 'node:fs';
import path from 'node:path';
import {
  LOOP_HEADER,
  classifyMessage,
  isAutomated,
  type Classification,
  type ClassifyInput,
  type Kind,
} from '../../server/mail/classify';
import { parseMessage } from '../../server/mail/parse';

const CORPUS = path.resolve(__dirname, '..', 'fixtures', 'sisimai', 'maildir');

/** A person's plain message, changed by `over`; headers are given as [name, value] pairs. */
const message = (over: Partial<Omit<ClassifyInput, 'headers'>> & { headers?: [string, string][] } = {}) =>
  classifyMessage({
    from: { name: 'Ada Lovelace', address: 'ada@example.org' },
    subject: 'The freezer at the food bank is broken',
    partTypes: ['text/plain'],
    ...over,
    headers: (over.headers ?? []).map(([name, value]) => ({ name, value })),
  });

describe('classifyMessage: a person', () => {
  it('when a person writes a plain message, then it is human with no reasons', () => {
    expect(message()).toEqual({ kind: 'human', reasons: [] });
  });

  it('when the message has no From at all, then it is still human', () => {
    expect(message({ from: undefined })).toEqual({ kind: 'human', reasons: [] });
  });
});

describe('classifyMessage: Auto-Submitted (RFC 3834)', () => {
  it('when Auto-Submitted is auto-replied, then auto-reply naming the header', () => {
    expect(message({ headers: [['Auto-Submitted', 'auto-replied']] })).toEqual({
      kind: 'auto-reply',
      reasons: ['Auto-Submitted: auto-replied'],
    });
  });

  it('when Auto-Submitted is auto-generated with a comment, then auto-reply', () => {
    expect(message({ headers: [['Auto-Submitted', 'auto-generated; owner-email="x@example.org"']] })).toEqual(
      {
        kind: 'auto-reply',
        reasons: ['Auto-Submitted: auto-generated; owner-email="x@example.org"'],
      },
    );
  });

  it('when Auto-Submitted is no (in any case, padded), then it is human', () => {
    expect(message({ headers: [['Auto-Submitted', 'no']] }).kind).toBe('human');
    expect(message({ headers: [['Auto-Submitted', '  No  ']] }).kind).toBe('human');
  });

  it('when the header name is in capitals and the value padded, then it matches and the value is trimmed', () => {
    expect(message({ headers: [['AUTO-SUBMITTED', '  auto-replied  ']] }).reasons).toEqual([
      'Auto-Submitted: auto-replied',
    ]);
  });

  it('when Auto-Submitted comes with a delivery-status report, then bounce, keeping both reasons', () => {
    const c = message({
      headers: [
        ['Auto-Submitted', 'auto-replied'],
        ['Content-Type', 'multipart/report; report-type=delivery-status; boundary="b"'],
      ],
      partTypes: ['multipart/report', 'text/plain', 'message/delivery-status', 'message/rfc822'],
    });

    expect(c).toEqual({
      kind: 'bounce',
      reasons: [
        'Auto-Submitted: auto-replied',
        'multipart/report; report-type=delivery-status',
        'message/delivery-status part',
      ],
    });
  });
});

describe('classifyMessage: Precedence and X-Auto* headers', () => {
  it.each([
    ['list', 'list'],
    ['bulk', 'auto-reply'],
    ['junk', 'auto-reply'],
    ['auto_reply', 'auto-reply'],
  ])('when Precedence is %s, then %s', (value, kind) => {
    expect(message({ headers: [['Precedence', value]] })).toEqual({
      kind,
      reasons: [`Precedence: ${value}`],
    });
  });

  it('when Precedence is something else (first-class), then it is human', () => {
    expect(message({ headers: [['Precedence', 'first-class']] })).toEqual({ kind: 'human', reasons: [] });
  });

  it.each([
    ['X-Autoreply', 'yes'],
    ['X-Autorespond', 'Vacation'],
    ['X-Autoresponder', 'on'],
    ['X-Auto-Response-Suppress', 'All'],
  ])('when %s is present, then auto-reply', (name, value) => {
    expect(message({ headers: [[name, value]] })).toEqual({
      kind: 'auto-reply',
      reasons: [`${name}: ${value}`],
    });
  });

  it('when X-Autoreply is present but empty, then auto-reply saying it is present', () => {
    expect(message({ headers: [['x-autoreply', '']] })).toEqual({
      kind: 'auto-reply',
      reasons: ['X-Autoreply present'],
    });
  });
});

describe('classifyMessage: mailing lists', () => {
  it('when List-Id is present, then list', () => {
    expect(message({ headers: [['List-Id', 'Volunteers <volunteers.example.org>']] })).toEqual({
      kind: 'list',
      reasons: ['List-Id: Volunteers <volunteers.example.org>'],
    });
  });

  it('when List-Unsubscribe is present, then list', () => {
    expect(message({ headers: [['List-Unsubscribe', '<mailto:leave@example.org>']] }).kind).toBe('list');
  });

  it('when a list message is also auto-generated, then auto-reply wins and both reasons stay', () => {
    const c = message({
      headers: [
        ['List-Id', '<news.example.org>'],
        ['Auto-Submitted', 'auto-generated'],
      ],
    });

    expect(c).toEqual({
      kind: 'auto-reply',
      reasons: ['List-Id: <news.example.org>', 'Auto-Submitted: auto-generated'],
    });
  });
});

describe('classifyMessage: Return-Path and sender', () => {
  it('when Return-Path is empty (<>), then bounce', () => {
    expect(message({ headers: [['Return-Path', '<>']] })).toEqual({
      kind: 'bounce',
      reasons: ['Return-Path: <>'],
    });
  });

  it('when Return-Path is a real address, then it is human', () => {
    expect(message({ headers: [['Return-Path', '<ada@example.org>']] }).kind).toBe('human');
  });

  it('when Return-Path is empty on an Auto-Submitted auto-reply (as RFC 3834 asks), then auto-reply, not bounce', () => {
    const c = message({
      headers: [
        ['Return-Path', '<>'],
        ['Auto-Submitted', 'auto-replied'],
      ],
    });

    expect(c).toEqual({ kind: 'auto-reply', reasons: ['Auto-Submitted: auto-replied', 'Return-Path: <>'] });
  });

  it.each([
    'mailer-daemon@mx.example.org',
    'MAILER-DAEMON@mx.example.org',
    'postmaster@example.org',
    'post_master@vtext.example.com',
  ])('when the sender is %s, then bounce', (address) => {
    expect(message({ from: { name: 'Mail Delivery System', address } })).toEqual({
      kind: 'bounce',
      reasons: [`sender ${address}`],
    });
  });

  it('when From is "MAILER-DAEMON <>" (no address to parse), then the raw From field still says bounce', () => {
    expect(message({ from: undefined, headers: [['From', 'MAILER-DAEMON <>']] })).toEqual({
      kind: 'bounce',
      reasons: ['sender MAILER-DAEMON'],
    });
  });

  it.each([
    'noreply@example.org',
    'no-reply@example.org',
    'do-not-reply@example.org',
    'DoNotReply@example.org',
  ])('when the sender is %s, then auto-reply', (address) => {
    expect(message({ from: { name: 'Notifications', address } })).toEqual({
      kind: 'auto-reply',
      reasons: [`sender ${address}`],
    });
  });

  it('when a no-reply sender sends with an empty Return-Path, then bounce', () => {
    expect(
      message({ from: { name: '', address: 'no-reply@example.jp' }, headers: [['Return-Path', '<>']] }).kind,
    ).toBe('bounce');
  });

  it.each([
    ['Postmaster General', 'louis@usps.example.gov'],
    ['Noreen Daemon', 'noreen@example.org'],
    ['Ada', 'postmaster-general@example.org'],
    ['Ada', 'mailer-daemon-fan@example.org'],
  ])('when a person named %s writes from %s, then it is human', (name, address) => {
    expect(message({ from: { name, address } })).toEqual({ kind: 'human', reasons: [] });
  });
});

describe('classifyMessage: MIME reports', () => {
  it('when the message is multipart/report with report-type=delivery-status, then bounce', () => {
    const c = message({
      headers: [['Content-Type', 'multipart/report; report-type="delivery-status"; boundary="x"']],
      partTypes: ['multipart/report', 'text/plain', 'message/rfc822'],
    });

    expect(c).toEqual({ kind: 'bounce', reasons: ['multipart/report; report-type=delivery-status'] });
  });

  it('when only a message/delivery-status part shows (a nested report), then bounce', () => {
    const c = message({ partTypes: ['multipart/mixed', 'text/plain', 'message/delivery-status'] });

    expect(c).toEqual({ kind: 'bounce', reasons: ['message/delivery-status part'] });
  });

  it('when a message/global-delivery-status part shows (RFC 6533), then bounce', () => {
    expect(message({ partTypes: ['multipart/report', 'message/global-delivery-status'] }).kind).toBe(
      'bounce',
    );
  });

  it('when the message is an ARF feedback report, then report', () => {
    const c = message({
      headers: [['Content-Type', 'multipart/report; report-type=feedback-report; boundary="x"']],
      partTypes: ['multipart/report', 'text/plain', 'message/feedback-report', 'message/rfc822'],
    });

    expect(c).toEqual({
      kind: 'report',
      reasons: ['multipart/report; report-type=feedback-report', 'message/feedback-report part'],
    });
  });

  it('when the message is a read receipt (disposition-notification), then auto-reply', () => {
    const c = message({
      headers: [['Content-Type', 'multipart/report; report-type=disposition-notification; boundary="x"']],
      partTypes: ['multipart/report', 'text/plain', 'message/disposition-notification'],
    });

    expect(c.kind).toBe('auto-reply');
    expect(c.reasons).toContain('multipart/report; report-type=disposition-notification');
  });

  it('when report-type is named outside a multipart/report, then it is ignored', () => {
    const c = message({ headers: [['Content-Type', 'text/plain; report-type=delivery-status']] });

    expect(c).toEqual({ kind: 'human', reasons: [] });
  });

  it('when a person forwards a message as an attachment (message/rfc822), then it is human', () => {
    const c = message({
      headers: [['Content-Type', 'multipart/mixed; boundary="x"']],
      partTypes: ['multipart/mixed', 'text/plain', 'message/rfc822'],
    });

    expect(c.kind).toBe('human');
  });

  it('when a person forwards a bounce with its report in the body, then it is a bounce; a chat about one is human', () => {
    const report =
      '> From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\n> Final-Recipient: rfc822; x@example.org';
    expect(message({ subject: 'Fwd: Returned mail: see transcript', text: report })).toMatchObject({
      kind: 'bounce',
      reasons: ['a forwarded delivery report'],
    });
    expect(message({ subject: 'Fwd: Returned mail: see transcript', text: 'Why do I get these?' }).kind).toBe(
      'human',
    );
    expect(message({ subject: 'Re: Returned mail', text: report }).kind).toBe('human');
  });
});

describe('classifyMessage: subjects', () => {
  it.each([
    'Out of Office: Rota for May',
    'Out of office',
    'Automatic reply: Rota for May',
    'Auto: Rota for May',
    'Autoreply: Rota for May',
    'Auto-Reply: Rota for May',
    'Abwesenheitsnotiz: Dienstplan',
    'Réponse automatique : Planning',
    'Respuesta automática: Turnos',
    'Risposta automatica: Turni',
  ])('when the subject is "%s", then auto-reply', (subject) => {
    expect(message({ subject })).toEqual({ kind: 'auto-reply', reasons: [`subject "${subject}"`] });
  });

  it.each([
    'Undeliverable: Rota for May',
    'Undelivered Mail Returned to Sender',
    'Delivery Status Notification (Failure)',
    'Mail delivery failed: returning message to sender',
    'Mail delivery failed',
    'Returned mail: see transcript for details',
    'failure notice',
    'Non remis : Planning',
    'Unzustellbar: Dienstplan',
  ])('when the subject is "%s", then bounce', (subject) => {
    expect(message({ subject })).toEqual({ kind: 'bounce', reasons: [`subject "${subject}"`] });
  });

  it('when the subject is a JMRP complaint about an IP address, then report', () => {
    expect(message({ subject: 'complaint about message from 192.0.2.222' }).kind).toBe('report');
  });

  it.each([
    'Re: out of office hours for the food bank',
    'Out of office hours for the food bank',
    'Fwd: Undeliverable: Rota for May',
    'Re: Automatic reply: Rota for May',
    'Undeliverable parcels at the depot',
    'Returned mailbox keys',
    'Auto insurance renewal',
    'Automatic doors stuck open',
    'Failure noticed in the cold room',
    'Complaint about message from John',
  ])('when a person writes the subject "%s", then it is human', (subject) => {
    expect(message({ subject })).toEqual({ kind: 'human', reasons: [] });
  });
});

describe('classifyMessage: our own loop header and precedence between kinds', () => {
  it('when the loop header is present, then loop', () => {
    expect(LOOP_HEADER).toBe('X-Tocsin-Loop');
    expect(message({ headers: [['x-tocsin-loop', 'case-42']] })).toEqual({
      kind: 'loop',
      reasons: ['X-Tocsin-Loop: case-42'],
    });
  });

  it('when every rule hits, then loop wins and every reason is kept', () => {
    const c = message({
      from: { name: '', address: 'mailer-daemon@mx.example.org' },
      subject: 'Undeliverable: Rota',
      headers: [
        [LOOP_HEADER, '1'],
        ['List-Id', '<v.example.org>'],
        ['Auto-Submitted', 'auto-replied'],
        ['Content-Type', 'multipart/report; report-type=feedback-report'],
      ],
    });

    expect(c.kind).toBe('loop');
    expect(c.reasons).toEqual([
      'X-Tocsin-Loop: 1',
      'List-Id: <v.example.org>',
      'Auto-Submitted: auto-replied',
      'sender mailer-daemon@mx.example.org',
      'multipart/report; report-type=feedback-report',
      'subject "Undeliverable: Rota"',
    ]);
  });

  it('when a bounce subject meets a feedback report, then bounce beats report', () => {
    expect(message({ subject: 'failure notice', partTypes: ['message/feedback-report'] }).kind).toBe(
      'bounce',
    );
  });

  it('when a feedback report is auto-generated, then report beats auto-reply', () => {
    const c = message({
      headers: [['Auto-Submitted', 'auto-generated']],
      partTypes: ['message/feedback-report'],
    });

    expect(c.kind).toBe('report');
  });
});

describe('isAutomated', () => {
  it('when the kind is human, then false; for every other kind, then true', () => {
    const of = (kind: Kind): Classification => ({ kind, reasons: [] });

    expect(isAutomated(of('human'))).toBe(false);
    for (const kind of ['auto-reply', 'bounce', 'report', 'list', 'loop'] as const)
      expect(isAutomated(of(kind))).toBe(true);
  });
});

describe('classifyMessage on the sisimai corpus', () => {
  const classified = new Map<string, Classification>();

  beforeAll(async () => {
    for (const dir of ['bsd', 'not'])
      for (const file of fs.readdirSync(path.join(CORPUS, dir)).sort()) {
        const parsed = await parseMessage(fs.readFileSync(path.join(CORPUS, dir, file)));
        classified.set(`${dir}/${file}`, classifyMessage(parsed));
      }
  });

  const bsd = () => [...classified].filter(([name]) => name.startsWith('bsd/'));

  it('when every bounce, DSN, auto-reply and ARF report is parsed, then all 629 but the listed exceptions are automated', () => {
    const human = bsd()
      .filter(([, c]) => !isAutomated(c))
      .map(([name]) => name.slice('bsd/'.length));

    expect(bsd()).toHaveLength(629);
    expect(human).toEqual([]);
  });

  it('when a bounce is forwarded on inline (lhost-sendmail-14, "Fwd: Returned mail"), then it is a bounce', () => {
    expect(classified.get('bsd/lhost-sendmail-14.eml')).toMatchObject({
      kind: 'bounce',
      reasons: expect.arrayContaining(['a forwarded delivery report']),
    });
  });

  it('when a corpus message carries a message/delivery-status part, then it is a bounce', () => {
    const dsns = bsd().filter(([, c]) => c.reasons.includes('message/delivery-status part'));

    expect(dsns.length).toBeGreaterThan(300);
    expect(dsns.filter(([, c]) => c.kind !== 'bounce')).toEqual([]);
  });

  it('when a corpus message is an ARF or JMRP complaint, then it is a report', () => {
    const arf = bsd().filter(([name]) => /^bsd\/arf-(0[1-9]|1\d|2[0-5])\.eml$/.test(name));

    expect(arf).toHaveLength(16);
    expect(arf.filter(([, c]) => c.kind !== 'report')).toEqual([]);
  });

  it('when a corpus message is an RFC 3834 auto-reply (some with an empty Return-Path), then auto-reply', () => {
    const replies = bsd().filter(([name]) => name.startsWith('bsd/rfc3834-'));

    expect(replies).toHaveLength(6);
    expect(replies.filter(([, c]) => c.kind !== 'auto-reply')).toEqual([]);
  });

  it('when the two human look-alikes are parsed, then both are human', () => {
    expect(classified.get('not/is-not-bounce-01.eml')).toEqual({ kind: 'human', reasons: [] });
    expect(classified.get('not/is-not-bounce-02.eml')).toEqual({ kind: 'human', reasons: [] });
  });

  it('when the auto-replied bounce notice (rb-issue-368) is parsed, then it is an automated bounce', () => {
    const c = classified.get('not/rb-issue-368-bug.eml');

    expect(c && isAutomated(c)).toBe(true);
    expect(c).toEqual({
      kind: 'bounce',
      reasons: ['Auto-Submitted: auto-replied', 'sender postmaster@yyyyyy.de', 'Return-Path: <>'],
    });
  });
});
