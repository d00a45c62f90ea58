import { createHash } from 'node:crypto';
import { defang, refang } from '../../server/mail/defang';
import {
  MAX_FORWARDED,
  forwardedMessages,
  inlineForwards,
  type Forwarded,
} from '../../server/mail/forwarded';
import {
  LINKING_TYPES,
  MAX_INDICATORS,
  extractIndicators,
  indicatorId,
  isLinking,
  type Indicator,
} from '../../server/mail/indicators';
import { parseMessage } from '../../server/mail/parse';
import { compose } from '../support/mail';

const hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const PDF = Buffer.from('%PDF-1.4 pay your invoice or else');

/** The phishing email as the victim received it: two Received hops, a lying link, an invoice. */
const phish = () =>
  compose({
    from: 'PayPal Service <service@paypa1.example>',
    replyTo: 'Billing <collect@evil.example>',
    to: 'ada@example.org',
    subject: 'Your account is  limited',
    messageId: '<phish-1@paypa1.example>',
    headers: [
      { key: 'Return-Path', value: '<bounce@bulk.evil.example>' },
      { key: 'Received', value: 'from mx.evil.example (mx.evil.example [198.51.100.7]) by mx.example.org' },
      { key: 'Received', value: 'from [10.0.0.5] (helo=[IPv6:2001:db8::25]) by mx.evil.example' },
    ],
    text: 'Dear customer, log in at https://paypal.com.account-verify.example/login?id=7#ada@example.org.',
    html:
      '<p>Dear customer,</p><a href="http://evil.example/login">https://www.paypal.com/signin</a>' +
      '<img src="http://3405803785/open.gif" width="1" height="1">',
    attachments: [{ filename: 'invoice.pdf', content: PDF, contentType: 'application/pdf' }],
  });

/** A report forwarding `inner` as a message/rfc822 part; nodemailer marks it inline. */
const report = async (inner: Buffer, over: Partial<Parameters<typeof compose>[0]> = {}) =>
  parseMessage(
    await compose({
      to: 'desk@example.org',
      subject: 'Fwd: is this real?',
      text: 'Got this today, looks fishy.',
      attachments: [{ content: inner, contentType: 'message/rfc822', filename: 'phish.eml' }],
      ...over,
    }),
  );

const inline = async (text: string) =>
  forwardedMessages(await parseMessage(await compose({ subject: 'Fwd', text })));
const of = (indicators: Indicator[], type: Indicator['type']) =>
  indicators.filter((i) => i.type === type).map((i) => i.value);
const forward = (over: Partial<Forwarded>): Forwarded => ({
  kind: 'inline',
  text: '',
  attachments: [],
  ...over,
});

describe('forwardedMessages: attached messages', () => {
  it('when a report attaches the phishing email (message/rfc822), then it comes back parsed, with headers and attachment hashes', async () => {
    const [f, ...rest] = await forwardedMessages(await report(await phish()));

    expect(rest).toEqual([]);
    expect(f).toMatchObject({
      kind: 'attachment',
      from: 'service@paypa1.example',
      replyTo: 'collect@evil.example',
      returnPath: 'bounce@bulk.evil.example',
      to: 'ada@example.org',
      subject: 'Your account is  limited',
      messageId: '<phish-1@paypa1.example>',
      received: [
        'from mx.evil.example (mx.evil.example [198.51.100.7]) by mx.example.org',
        'from [10.0.0.5] (helo=[IPv6:2001:db8::25]) by mx.evil.example',
      ],
      attachments: [
        { filename: 'invoice.pdf', contentType: 'application/pdf', size: PDF.length, sha256: hex(PDF) },
      ],
    });
    expect(f!.text).toContain('https://paypal.com.account-verify.example/login');
    expect(f!.html).toContain('href="http://evil.example/login"');
    expect(f!.attachments[0]).not.toHaveProperty('content');
  });

  it('when the forwarded part is marked attachment, as mail clients mark it, then it is read the same', async () => {
    const inner = await phish();
    const asAttachment = await report(inner, {
      attachments: [{ content: inner, contentType: 'message/rfc822', contentDisposition: 'attachment' }],
    });

    expect(await forwardedMessages(asAttachment)).toEqual(await forwardedMessages(await report(inner)));
  });

  it('when the forward is an .eml named application/octet-stream, or a message/global, then it is parsed too', async () => {
    const inner = await phish();
    const asEml = await report(inner, {
      attachments: [{ content: inner, contentType: 'application/octet-stream', filename: 'Fwd.EML' }],
    });
    const asGlobal = await report(inner, {
      attachments: [{ content: inner, contentType: 'message/global', contentDisposition: 'attachment' }],
    });

    expect((await forwardedMessages(asEml)).map((f) => f.messageId)).toEqual(['<phish-1@paypa1.example>']);
    expect((await forwardedMessages(asGlobal)).map((f) => f.messageId)).toEqual(['<phish-1@paypa1.example>']);
  });

  it('when a message forwards nothing, then there is no forward', async () => {
    const parsed = await parseMessage(
      await compose({
        subject: 'Freezer broken',
        text: 'The freezer at https://foodbank.example.org broke.\n-- \nAda',
        attachments: [{ filename: 'photo.jpg', content: Buffer.from('jpeg') }],
      }),
    );

    expect(await forwardedMessages(parsed)).toEqual([]);
  });

  it('when a report attaches 20 messages, then only the first 5 are parsed', async () => {
    const attachments = await Promise.all(
      Array.from({ length: 20 }, async (_, n) => ({
        content: await compose({ subject: `phish ${n}`, messageId: `<p${n}@evil.example>`, text: 'x' }),
        contentType: 'message/rfc822',
        contentDisposition: 'attachment' as const,
      })),
    );

    const forwards = await forwardedMessages(await report(Buffer.alloc(0), { attachments }));

    expect(MAX_FORWARDED).toBe(5);
    expect(forwards.map((f) => f.subject)).toEqual(['phish 0', 'phish 1', 'phish 2', 'phish 3', 'phish 4']);
  });

  it('when an attached message is over 10 MB, then it is skipped and the next one is read', async () => {
    const big = await compose({ subject: 'big', text: 'x'.repeat(10 * 1024 * 1024 + 1) });
    const parsed = await report(Buffer.alloc(0), {
      attachments: [
        { content: big, contentType: 'message/rfc822', contentDisposition: 'attachment' },
        { content: await phish(), contentType: 'message/rfc822', contentDisposition: 'attachment' },
      ],
    });

    expect((await forwardedMessages(parsed)).map((f) => f.subject)).toEqual(['Your account is  limited']);
  });

  it('when attached messages nest 300 deep, then only the first is opened and the next is listed as its attachment', async () => {
    let inner: Buffer = Buffer.from(
      'From: deepest@evil.example\r\nSubject: level 0\r\n\r\nhttp://evil.example/deep\r\n',
    );
    for (let level = 1; level <= 300; level++)
      inner = await compose({
        from: `l${level}@evil.example`,
        subject: `level ${level}`,
        text: `level ${level}`,
        attachments: [{ content: inner, contentType: 'message/rfc822', contentDisposition: 'attachment' }],
      });
    const started = Date.now();

    const forwards = await forwardedMessages(await report(inner));
    const indicators = extractIndicators(forwards);

    expect(Date.now() - started).toBeLessThan(5000);
    expect(forwards).toHaveLength(1);
    expect(forwards[0]).toMatchObject({ subject: 'level 300', text: 'level 300' });
    expect(forwards[0]!.attachments).toEqual([expect.objectContaining({ contentType: 'message/rfc822' })]);
    expect(of(indicators, 'url')).toEqual([]);
  });
});

describe('forwardedMessages: inline forwards', () => {
  it('when Gmail forwards inline, then the header lines and the body of the block are read', async () => {
    const forwards = await inline(
      [
        'Is this one real?',
        '',
        '---------- Forwarded message ---------',
        'From: PayPal <service@paypa1.example>',
        'Date: Mon, Jan 6, 2025 at 9:14 AM',
        'Subject: Your account is limited',
        'To: <ada@example.org>',
        '',
        '',
        'Log in at https://paypal.com.account-verify.example/login <http://evil.example/login>',
        '',
      ].join('\n'),
    );

    expect(forwards).toEqual([
      {
        kind: 'inline',
        from: 'service@paypa1.example',
        to: 'ada@example.org',
        subject: 'Your account is limited',
        date: 'Mon, Jan 6, 2025 at 9:14 AM',
        text: 'Log in at https://paypal.com.account-verify.example/login <http://evil.example/login>',
        attachments: [],
      },
    ]);
  });

  it('when Outlook forwards inline (-----Original Message-----, Sent:, [mailto:]), then From, Reply-To and Subject are read', async () => {
    const forwards = await inline(
      [
        'Please check.',
        '',
        '-----Original Message-----',
        'From: PayPal [mailto:service@paypa1.example]',
        'Sent: Monday, January 6, 2025 9:14 AM',
        'To: Ada Lovelace <ada@example.org>',
        'Cc: Team <team@example.org>,',
        '    Board <board@example.org>',
        'Reply-To: collect@evil.example',
        'Subject: Your account is limited',
        'Importance: High',
        '',
        'Verify now: hxxp://evil[.]example/verify',
      ].join('\r\n'),
    );

    expect(forwards).toEqual([
      {
        kind: 'inline',
        from: 'service@paypa1.example',
        replyTo: 'collect@evil.example',
        to: 'ada@example.org',
        subject: 'Your account is limited',
        date: 'Monday, January 6, 2025 9:14 AM',
        text: 'Verify now: hxxp://evil[.]example/verify',
        attachments: [],
      },
    ]);
  });

  it('when Outlook on the web forwards under a line of underscores, then it counts; a signature rule does not', async () => {
    const forwards = await inline(
      [
        'Thanks,',
        'Ada',
        '________________________________',
        'Food bank volunteers, since 1998',
        '',
        '________________________________',
        'From: IT Helpdesk <helpdesk@evil.example>',
        'Sent: 06 January 2025 09:14',
        'Subject: Mailbox full',
        '',
        'Click here',
      ].join('\n'),
    );

    expect(forwards).toEqual([
      expect.objectContaining({ from: 'helpdesk@evil.example', subject: 'Mailbox full', text: 'Click here' }),
    ]);
  });

  it('when Apple Mail forwards with the message quoted, then the quoting is taken off', async () => {
    const forwards = await inline(
      [
        'Begin forwarded message:',
        '',
        '> From: DHL Express <noreply@dhl-parcel.example>',
        '> Subject: Parcel on hold',
        '> Date: 6 January 2025 at 09:14:00 GMT',
        '> To: ada@example.org',
        '> ',
        '> Pay the customs fee at https://dhl-parcel.example/pay',
      ].join('\n'),
    );

    expect(forwards).toEqual([
      expect.objectContaining({
        from: 'noreply@dhl-parcel.example',
        subject: 'Parcel on hold',
        text: 'Pay the customs fee at https://dhl-parcel.example/pay',
      }),
    ]);
  });

  it('when Thunderbird forwards a forward, then each block is one forward, ending where the next begins', async () => {
    const forwards = await inline(
      [
        '-------- Forwarded Message --------',
        'Subject: Fwd: Invoice',
        'Date: Mon, 6 Jan 2025 10:00:00 +0100',
        'From: Bob <bob@example.org>',
        'To: ada@example.org',
        '',
        'Bob says: got this',
        '',
        '---------- Forwarded message ---------',
        'From: Accounts <accounts@evil.example>',
        'Subject: Invoice',
        '',
        'See https://evil.example/invoice',
      ].join('\n'),
    );

    expect(forwards.map((f) => [f.from, f.subject, f.text])).toEqual([
      ['bob@example.org', 'Fwd: Invoice', 'Bob says: got this'],
      ['accounts@evil.example', 'Invoice', 'See https://evil.example/invoice'],
    ]);
  });

  it('when the HTML-only report is turned to text, then the header block ends at the first line that is no header', async () => {
    const parsed = await parseMessage(
      await compose({
        subject: 'Fwd',
        html:
          '<p>look</p><div>---------- Forwarded message ---------<br>From: <b>PayPal</b> &lt;service@paypa1.example&gt;<br>' +
          'Subject: Verify</div><a href="http://evil.example/login">https://www.paypal.com</a>',
      }),
    );

    const [f] = await forwardedMessages(parsed);

    expect(f).toMatchObject({ from: 'service@paypa1.example', subject: 'Verify' });
    expect(f!.text).toBe('https://www.paypal.com [http://evil.example/login]');
  });
});

describe('extractIndicators', () => {
  let indicators: Indicator[];
  beforeAll(async () => {
    indicators = extractIndicators(await forwardedMessages(await report(await phish())));
  });

  it('when a phishing email is attached, then its Message-ID, addresses and subject come first', () => {
    expect(indicators.slice(0, 5)).toEqual([
      { type: 'message-id', value: '<phish-1@paypa1.example>', display: '<phish-1[@]paypa1[.]example>' },
      { type: 'sender', value: 'service@paypa1.example', display: 'service[@]paypa1[.]example' },
      { type: 'reply-to', value: 'collect@evil.example', display: 'collect[@]evil[.]example' },
      { type: 'return-path', value: 'bounce@bulk.evil.example', display: 'bounce[@]bulk[.]evil[.]example' },
      { type: 'subject', value: 'your account is limited', display: 'Your account is limited' },
    ]);
  });

  it('when the inner message has an attachment, then its SHA-256 is an indicator', () => {
    expect(of(indicators, 'attachment-sha256')).toEqual([hex(PDF)]);
  });

  it('when a link says one URL and goes to another, then the href is the indicator, not the text shown', () => {
    expect(of(indicators, 'url')).toContain('http://evil.example/login');
    expect(of(indicators, 'url')).not.toContain('https://www.paypal.com/signin');
  });

  it('when URLs are in the text and the HTML, then each is normalized: fragment and punctuation off, numeric host dotted', () => {
    expect(of(indicators, 'url')).toEqual([
      'http://evil.example/login',
      'http://203.0.113.9/open.gif',
      'https://paypal.com.account-verify.example/login?id=7',
    ]);
  });

  it('when addresses and URLs name hosts, then their domains are indicators, distinct and without IPs', () => {
    expect(of(indicators, 'domain')).toEqual([
      'paypa1.example',
      'evil.example',
      'bulk.evil.example',
      'paypal.com.account-verify.example',
    ]);
  });

  it('when Received headers and URL hosts carry IP addresses, then the public ones are indicators', () => {
    expect(of(indicators, 'ip')).toEqual(['198.51.100.7', '2001:db8::25', '203.0.113.9']);
  });

  it('when indicators are shown, then URLs, hosts and IPs are defanged', () => {
    const display = (value: string) => indicators.find((i) => i.value === value)?.display;

    expect(display('http://evil.example/login')).toBe('hxxp://evil[.]example/login');
    expect(display('203.0.113.9')).toBe('203[.]0[.]113[.]9');
    expect(display('2001:db8::25')).toBe('2001[:]db8[:][:]25');
    expect(display('evil.example')).toBe('evil[.]example');
  });

  it('when every (type, value) is counted, then none repeats', () => {
    const keys = indicators.map((i) => `${i.type} ${i.value}`);

    expect(new Set(keys).size).toBe(keys.length);
  });

  it('when text holds defanged URLs (hxxp, [.], (.), [://], [dot]), then they are refanged for matching', () => {
    const found = extractIndicators([
      forward({
        text: 'Go to hxxps://evil[.]example/a, hXXp://evil(.)example/b or hxxp[://]evil[dot]example/c; mail x[@]evil[.]example',
      }),
    ]);

    expect(of(found, 'url')).toEqual([
      'https://evil.example/a',
      'http://evil.example/b',
      'http://evil.example/c',
    ]);
    expect(of(found, 'domain')).toEqual(['evil.example']);
  });

  it('when URLs differ only in case, default port, trailing punctuation, an empty query or a fragment, then they are one indicator', () => {
    const found = extractIndicators([
      forward({
        text: 'HTTPS://EVIL.Example:443/Login. (https://evil.example/Login) "https://evil.example/Login#ada" https://evil.example:8443/Login>',
        html: '<a href="https://evil.example/Login?">x</a><img src="//evil.example/Login">',
      }),
    ]);

    expect(of(found, 'url')).toEqual(['https://evil.example/Login', 'https://evil.example:8443/Login']);
  });

  it('when a URL hides its host behind a user name or in Unicode, then the domain is the real host, in punycode', () => {
    const found = extractIndicators([
      forward({ text: 'http://paypal.com@evil.example/ and https://pаypal.example/ (Cyrillic а)' }),
    ]);

    expect(of(found, 'domain')).toEqual(['evil.example', 'xn--pypal-4ve.example']);
    expect(of(found, 'url')).toEqual(['http://paypal.com@evil.example/', 'https://xn--pypal-4ve.example/']);
  });

  it('when text and HTML hold URLs in srcset, style url() and meta refresh, then those count too', () => {
    const found = extractIndicators([
      forward({
        html:
          '<meta http-equiv="refresh" content="0; url=https://a.example/r"><img srcset="https://b.example/1x.png 1x, https://c.example/2x.png 2x">' +
          '<td style="background: url(\'https://d.example/bg.png\')"><form action="https://e.example/post"><a href="mailto:x@f.example">m</a>',
      }),
    ]);

    expect(of(found, 'url')).toEqual([
      'https://a.example/r',
      'https://b.example/1x.png',
      'https://c.example/2x.png',
      'https://d.example/bg.png',
      'https://e.example/post',
    ]);
  });

  it('when text holds private, loopback or link-local addresses, then they are left out', () => {
    const found = extractIndicators([
      forward({
        text: 'from 10.1.2.3, 192.168.0.1, 127.0.0.1, 169.254.1.1, ::1, fe80::1 and 203.0.113.50, at 10:30:00, version 1.2.3.4.5',
        received: ['from [172.16.0.9] by [100.64.0.1]; Mon, 6 Jan 2025 10:30:00 +0000'],
      }),
    ]);

    expect(of(found, 'ip')).toEqual(['203.0.113.50']);
  });

  it('when two forwards share a sender and a URL, then each indicator appears once', () => {
    const f = forward({ from: 'a@evil.example', text: 'https://evil.example/x' });

    const found = extractIndicators([f, { ...f, kind: 'attachment' }]);

    expect(found.map((i) => i.type)).toEqual(['sender', 'domain', 'url']);
  });

  it('when there is nothing forwarded, then there are no indicators', () => {
    expect(extractIndicators([])).toEqual([]);
  });

  it('when a forward holds 1000 URLs, then 200 indicators come back and the headers are among them', async () => {
    const text = Array.from({ length: 1000 }, (_, n) => `https://host${n}.evil.example/p/${n}`).join('\n');
    const parsed = await report(
      await compose({
        from: 'spam@evil.example',
        subject: 'many links',
        messageId: '<many@evil.example>',
        text,
      }),
    );

    const found = extractIndicators(await forwardedMessages(parsed));

    expect(MAX_INDICATORS).toBe(200);
    expect(found).toHaveLength(200);
    expect(found.slice(0, 4).map((i) => i.type)).toEqual(['message-id', 'sender', 'subject', 'domain']);
    expect(found.at(-1)).toEqual({
      type: 'domain',
      value: 'host97.evil.example',
      display: 'host97[.]evil[.]example',
    });
  });
});

describe('extractIndicators on text built to be slow', () => {
  it('when text holds long runs of brackets, dashes, spaces, colons and defanged dots, then it is read in linear time', () => {
    const text = [
      'http://a.example/' + ')'.repeat(200_000),
      '(.)'.repeat(100_000),
      'hxxp[://]a[.]b '.repeat(20_000),
      ' '.repeat(200_000) + 'x',
      '-'.repeat(200_000) + ' Forwarded message',
      'a:b:'.repeat(100_000),
      '1.1.1.'.repeat(100_000),
      'a-'.repeat(200_000),
    ].join('\n');
    const started = Date.now();

    const found = extractIndicators([
      forward({ text, subject: 'a-'.repeat(100_000), messageId: 'x'.repeat(100_000) }),
    ]);
    const forwards = inlineForwards(text);

    expect(Date.now() - started).toBeLessThan(5000);
    expect(of(found, 'url')).toEqual(['http://a.example/', 'http://a.b/']);
    expect(forwards).toEqual([]);
  });
});

describe('defang', () => {
  it.each([
    ['https://evil.example/x', 'hxxps://evil[.]example/x'],
    ['http://evil.example/a.b?c=d.e', 'hxxp://evil[.]example/a.b?c=d.e'],
    ['ftp://files.evil.example/', 'fxp://files[.]evil[.]example/'],
    ['http://paypal.com@evil.example/', 'hxxp://paypal[.]com[@]evil[.]example/'],
    ['evil.example', 'evil[.]example'],
    ['192.0.2.1', '192[.]0[.]2[.]1'],
    ['2001:db8::1', '2001[:]db8[:][:]1'],
    ['user@evil.example', 'user[@]evil[.]example'],
    ['Invoice from pay.evil.example, v1.2, 3.14', 'Invoice from pay[.]evil[.]example, v1.2, 3.14'],
    ['0123abcd', '0123abcd'],
  ])(
    'when %s is defanged, then it reads %s, defanging again changes nothing, and refang undoes it',
    (value, defanged) => {
      expect(defang(value)).toBe(defanged);
      expect(defang(defanged)).toBe(defanged);
      expect(refang(defanged)).toBe(value);
    },
  );
});

describe('indicatorId and LINKING_TYPES', () => {
  it('when an id is made, then it is the type and the SHA-256 of the value, the same every time', () => {
    const url: Indicator = {
      type: 'url',
      value: 'https://evil.example/x',
      display: 'hxxps://evil[.]example/x',
    };
    const shownOtherwise: Indicator = { ...url, display: 'evil.example/x' };

    expect(indicatorId(url)).toBe(`url:${hex('https://evil.example/x')}`);
    expect(indicatorId(shownOtherwise)).toBe(indicatorId(url));
    expect(indicatorId({ ...url, type: 'domain' })).not.toBe(indicatorId(url));
  });

  it('when two reporters forward the same phishing, then their linking indicators have the same ids', async () => {
    const inner = await phish();
    const ids = async (from: string) =>
      extractIndicators(await forwardedMessages(await report(inner, { from })))
        .filter(isLinking)
        .map(indicatorId);

    const ada = await ids('ada@example.org');
    const bob = await ids('bob@example.org');

    expect(ada).toHaveLength(5);
    expect(bob).toEqual(ada);
  });

  it('when the types are listed, then only a URL, an attachment hash or a Message-ID links reports', () => {
    expect([...LINKING_TYPES].sort()).toEqual(['attachment-sha256', 'message-id', 'url']);
    expect(isLinking({ type: 'sender' })).toBe(false);
    expect(isLinking({ type: 'domain' })).toBe(false);
    expect(isLinking({ type: 'message-id' })).toBe(true);
  });
});
