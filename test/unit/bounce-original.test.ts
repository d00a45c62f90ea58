import fs from 'node:fs';
import path from 'node:path';
import {
  PART_SCAN_BYTES,
  bounceOriginalMessageIds,
  type BounceInput,
} from '../../server/mail/bounce-original';
import { parseMessage } from '../../server/mail/parse';

const BSD = path.resolve(__dirname, '..', 'fixtures', 'sisimai', 'maildir', 'bsd');

/** The ids found in a bounce that is empty but for `over`. */
const idsOf = (over: Partial<BounceInput>) =>
  bounceOriginalMessageIds({ attachments: [], text: '', headers: [], ...over });
const part = (contentType: string, content: string) => ({ contentType, content: Buffer.from(content) });
/** The header block of a message we sent, and its body. */
const original = (
  messageIdLine = 'Message-ID: <tocsin.inc-2026-007.m7x.0123456789abcdef@tocsin.example.org>',
) =>
  [
    'Received: from desk.example.org by mx.example.org; Mon, 2 Mar 2026 10:00:00 +0000',
    'From: Tocsin <desk@tocsin.example.org>',
    'To: ada@example.net',
    'Subject: Re: [INC-2026-007] Freezer broken',
    messageIdLine,
    'Date: Mon, 2 Mar 2026 10:00:00 +0000',
    '',
    'Hello Ada,',
    'Message-ID: <quoted-in-the-body@example.net>',
    '',
  ].join('\r\n');
const OURS = '<tocsin.inc-2026-007.m7x.0123456789abcdef@tocsin.example.org>';

describe('bounceOriginalMessageIds: the returned message', () => {
  it('when the original is attached as message/rfc822, then its Message-ID is found, not one in its body', () => {
    expect(idsOf({ attachments: [part('message/rfc822', original())] })).toEqual([OURS]);
  });

  it.each([
    'message/global',
    'message/partial',
    'message/rfc822-headers',
    'message/global-headers',
    'text/rfc822-headers',
    'text/rfc822-header',
    'text/rfc822-headers; charset=us-ascii',
    'MESSAGE/RFC822',
  ])('when the original comes as %s, then its Message-ID is found', (type) => {
    expect(idsOf({ attachments: [part(type, original())] })).toEqual([OURS]);
  });

  it.each(['text/plain', 'application/octet-stream', 'message/delivery-status', 'image/png'])(
    'when a %s attachment has a Message-ID header, then it is not taken for the original',
    (type) => {
      expect(idsOf({ attachments: [part(type, original())] })).toEqual([]);
    },
  );

  it.each([
    ['folded onto the next line', `Message-ID:\r\n ${OURS}`],
    ['spelled Message-Id', `Message-Id: ${OURS}`],
    ['in capitals, without a space', `MESSAGE-ID:${OURS}`],
    ['with a comment after it', `Message-ID: ${OURS} (sent by Tocsin)`],
  ])('when the Message-ID header is %s, then it is found', (_, line) => {
    expect(idsOf({ attachments: [part('message/rfc822', original(line))] })).toEqual([OURS]);
  });

  it('when the Message-ID is bare (no brackets), then it is found and bracketed', () => {
    expect(idsOf({ attachments: [part('text/rfc822-headers', 'Message-ID: 20140913142357\r\n')] })).toEqual([
      '<20140913142357>',
    ]);
  });

  it('when the part starts with blank lines, then the header block after them is read', () => {
    expect(idsOf({ attachments: [part('message/rfc822', `\r\n\r\n${original()}`)] })).toEqual([OURS]);
  });

  it('when the Message-ID comes after the first 64 KB of the part, then it is not read', () => {
    const received = 'Received: from relay.example.org by mx.example.org; Mon, 2 Mar 2026 10:00:00 +0000\r\n';
    const padding = received.repeat(Math.ceil(PART_SCAN_BYTES / received.length));

    expect(idsOf({ attachments: [part('message/rfc822', padding + original())] })).toEqual([]);
  });

  it('when several parts carry the same original, then its id comes once', () => {
    const attachments = [part('message/rfc822', original()), part('text/rfc822-headers', original())];

    expect(idsOf({ attachments })).toEqual([OURS]);
  });

  it('when the returned message has no Message-ID, then its In-Reply-To and References are the fallback', () => {
    const headers =
      'From: desk@tocsin.example.org\r\nIn-Reply-To: <c@x.org>\r\nReferences: <a@x.org>\r\n <b@x.org> <c@x.org>\r\n\r\n';

    expect(idsOf({ attachments: [part('message/rfc822', headers)] })).toEqual([
      '<c@x.org>',
      '<b@x.org>',
      '<a@x.org>',
    ]);
  });
});

describe('bounceOriginalMessageIds: lines in the body text', () => {
  it.each([
    [
      'a header line of a pasted copy',
      `--- Below this line is a copy of the message.\n\nMessage-ID: ${OURS}\n`,
    ],
    ['quoted', `> Message-Id: ${OURS}\n> From: desk@tocsin.example.org`],
    ['quoted twice and indented', `>>   message-id: ${OURS}`],
    ['folded onto the next line', `Message-ID:\n    ${OURS}\n`],
    ['named Original-Message-ID', `Original-Message-ID: ${OURS}`],
    ['named X-Original-Message-ID (Exchange)', `X-Original-Message-ID: ${OURS}`],
    ['in an X-Tocsin-Loop line', `X-Tocsin-Loop: ${OURS}`],
  ])('when the Message-ID is %s, then it is found', (_, text) => {
    expect(idsOf({ text })).toEqual([OURS]);
  });

  it('when a body Message-ID is bare and ends a sentence, then the full stop is not part of it', () => {
    expect(idsOf({ text: 'Message-ID: 12345.abc@mx.example.org.' })).toEqual(['<12345.abc@mx.example.org>']);
  });

  it('when a message-id is only named in prose, or has no @ and no brackets, then it is not taken', () => {
    expect(idsOf({ text: 'A report for the message-id of <x@y.org> received today.' })).toEqual([]);
    expect(idsOf({ text: 'Message-ID: unknown' })).toEqual([]);
  });

  it('when X-Tocsin-Loop holds no bracketed id, then it gives none', () => {
    expect(idsOf({ text: 'X-Tocsin-Loop: INC-2026-007' })).toEqual([]);
  });

  it('when an attached original has a Message-ID, then the body’s ids are not returned', () => {
    const c = idsOf({ attachments: [part('message/rfc822', original())], text: 'Message-ID: <other@x.org>' });

    expect(c).toEqual([OURS]);
  });

  it('when the body has only References and In-Reply-To lines, then they are the fallback, nearest first', () => {
    const text =
      '> In-Reply-To: <c@x.org>\n> References: <a@x.org>\n>  <b@x.org>\n>  <c@x.org>\n> Subject: hi';

    expect(idsOf({ text })).toEqual(['<c@x.org>', '<b@x.org>', '<a@x.org>']);
  });

  it('when the body has both a Message-ID and References lines, then only the Message-ID is returned', () => {
    expect(idsOf({ text: `References: <a@x.org>\nMessage-ID: ${OURS}` })).toEqual([OURS]);
  });
});

describe('bounceOriginalMessageIds: the bounce’s own headers', () => {
  const own = { name: 'Message-ID', value: '<bounce-123@mx.example.org>' };

  it('when the bounce’s own Message-ID shows in its text, then it is never returned', () => {
    expect(idsOf({ headers: [own], text: 'Message-ID: <bounce-123@mx.example.org>' })).toEqual([]);
  });

  it('when nothing else names the original, then the bounce’s In-Reply-To and References are used', () => {
    const headers = [
      own,
      { name: 'In-Reply-To', value: '<orig@x.org>' },
      { name: 'references', value: '<root@x.org> <orig@x.org>' },
    ];

    expect(idsOf({ headers })).toEqual(['<orig@x.org>', '<root@x.org>']);
  });

  it('when the body has a Message-ID, then the bounce’s In-Reply-To is not returned', () => {
    const headers = [{ name: 'In-Reply-To', value: '<parent@x.org>' }];

    expect(idsOf({ headers, text: `Message-ID: ${OURS}` })).toEqual([OURS]);
  });
});

describe('bounceOriginalMessageIds: the raw message', () => {
  const raw = (parts: string[], boundary = 'b0und') =>
    Buffer.from(
      [
        'From: MAILER-DAEMON@mx.example.org',
        'Message-ID: <bounce-1@mx.example.org>',
        `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
        '',
        ...parts.flatMap((p) => ['--b0und', p]),
        '--b0und--',
        '',
      ].join('\r\n'),
    );

  it('when the original is an inline message/rfc822 part (which mailparser renders as text), then raw finds its id', () => {
    const r = raw([
      'Content-Type: text/plain\r\n\r\nYour message could not be delivered.',
      `Content-Disposition: inline\r\nContent-Type: message/rfc822\r\n\r\n${original()}`,
    ]);

    expect(idsOf({ raw: r })).toEqual([OURS]);
  });

  it('when the original is a base64 message/global part, then it is decoded', () => {
    const r = raw([
      `Content-Type: message/global\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from(original()).toString('base64').replace(/.{76}/g, '$&\r\n')}`,
    ]);

    expect(idsOf({ raw: r })).toEqual([OURS]);
  });

  it('when the original is a quoted-printable part with a soft break inside the id, then it is decoded', () => {
    const qp = original().replace('@tocsin.example.org>', '@tocsin.=\r\nexample.org>');
    const r = raw([
      `Content-Transfer-Encoding: quoted-printable\r\nContent-Type: text/rfc822-headers\r\n\r\n${qp}`,
    ]);

    expect(idsOf({ raw: r })).toEqual([OURS]);
  });

  it('when the raw message is a megabyte of part headers and id lines with no blank line, then it returns fast', () => {
    const r = Buffer.from(
      `Subject: x\r\n\r\n${'Content-Type: message/rfc822\r\nReferences: <a@b.c>\r\n'.repeat(20_000)}`,
    );

    const started = performance.now();
    const ids = idsOf({ raw: r, text: r.toString() });

    expect(performance.now() - started).toBeLessThan(1000);
    expect(ids).toEqual(['<a@b.c>']);
  });

  it('when the boundary does not match (no MIME parts, no text), then the raw body’s lines are read', () => {
    const r = raw([`Content-Type: text/plain\r\n\r\nFailed.\r\n\r\nMessage-Id: ${OURS}`], 'not-the-boundary');

    expect(idsOf({ raw: r })).toEqual([OURS]);
  });
});

/**
 * Every sisimai bounce, auto-reply and complaint, parsed as intake parses it. Measured when this
 * was written: 533 of 629 name an original (509 without the raw message). The rest return no
 * copy of the original, or a copy without a Message-ID (checked by hand, e.g. lhost-postfix-02,
 * whose message/rfc822 part has Return-Path, Received, Subject and From, and no Message-ID).
 */
describe('bounceOriginalMessageIds on the sisimai corpus', () => {
  const found = new Map<string, { withRaw: string[]; parsedOnly: string[] }>();
  const ownIds = new Map<string, string | undefined>();

  beforeAll(async () => {
    for (const file of fs.readdirSync(BSD).sort()) {
      const raw = fs.readFileSync(path.join(BSD, file));
      const parsed = await parseMessage(raw);
      found.set(file, {
        withRaw: bounceOriginalMessageIds({ ...parsed, raw }),
        parsedOnly: bounceOriginalMessageIds(parsed),
      });
      ownIds.set(file, parsed.messageId);
    }
  });

  it('when all 629 are read with their raw bytes, then at least 530 name the original', () => {
    const named = [...found.values()].filter((f) => f.withRaw.length > 0);

    expect(found.size).toBe(629);
    expect(named.length).toBeGreaterThanOrEqual(530);
  });

  it('when only the parsed message is given, then at least 505 still name it, and never more than with raw', () => {
    const named = [...found.values()].filter((f) => f.parsedOnly.length > 0);

    expect(named.length).toBeGreaterThanOrEqual(505);
    expect([...found].filter(([, f]) => f.parsedOnly.length > 0 && f.withRaw.length === 0)).toEqual([]);
  });

  it('when a result is given, then every id is <…> and none is the bounce’s own Message-ID', () => {
    const ids = [...found].flatMap(([file, f]) => f.withRaw.map((id) => ({ file, id })));

    expect(ids.length).toBeGreaterThan(530);
    expect(ids.filter(({ id }) => !/^<[^<>\s]+>$/.test(id))).toEqual([]);
    expect(ids.filter(({ file, id }) => id === ownIds.get(file))).toEqual([]);
  });

  it.each([
    // A text/rfc822-headers part (Postfix), id without brackets: "Message-ID: 20140913142357".
    ['lhost-postfix-09.eml', ['<20140913142357>'], ['<20140913142357>']],
    // qmail pastes the original under "--- Below this line is a copy of the message.".
    [
      'lhost-qmail-01.eml',
      ['<000000000.9999999999999.JavaMail.postmaster@mailhub>'],
      ['<000000000.9999999999999.JavaMail.postmaster@mailhub>'],
    ],
    // Gmail's old bounce quotes the original in a quoted-printable text part.
    [
      'lhost-gmail-04.eml',
      ['<CAJYcEwW7ghrwjbwmwK3GKRG98qSVTKhGBvnkbVH1RdwFJwHWFQ@mail.gmail.com>'],
      ['<CAJYcEwW7ghrwjbwmwK3GKRG98qSVTKhGBvnkbVH1RdwFJwHWFQ@mail.gmail.com>'],
    ],
    // Exim: the copy's Message-Id, then one its body pasted in; not the bounce's <E1P1ceB-…>.
    [
      'lhost-exim-01.eml',
      ['<E1P1ce6-000Egt-GZ@e1.example.org>', '<hogeuoiuadogalhg.dg9i09@example.jp>'],
      ['<E1P1ce6-000Egt-GZ@e1.example.org>', '<hogeuoiuadogalhg.dg9i09@example.jp>'],
    ],
    // Verizon returns no copy, but its In-Reply-To names the original.
    [
      'lhost-verizon-02.eml',
      ['<20140429222222.22222.qmail@sabineko.example.com>'],
      ['<20140429222222.22222.qmail@sabineko.example.com>'],
    ],
    // An inline message/rfc822 part: parseMessage keeps it whole, as an attachment.
    [
      'lhost-sendgrid-01.eml',
      ['<F9B4AEED-722D-47FD-929E-3625AF2161BB@example.jp>'],
      ['<F9B4AEED-722D-47FD-929E-3625AF2161BB@example.jp>'],
    ],
    [
      'arf-02.eml',
      ['<000000000000000000000000.smtp@example.com>'],
      ['<000000000000000000000000.smtp@example.com>'],
    ],
    // The boundary parameter does not match the parts: only the raw body has the copy.
    ['rhost-google-02.eml', ['<2018042233445.A95F8E533589@mail.example.co.jp>'], []],
    // A Sun Messaging Server report whose parts do not parse; its header summary does.
    ['lhost-messagingserver-03.eml', ['<000000000000000000@example.org>'], []],
  ])('when %s is read, then the original is %j (parsed only: %j)', (file, withRaw, parsedOnly) => {
    expect(found.get(file)).toEqual({ withRaw, parsedOnly });
  });
});
