import { createHash } from 'node:crypto';
import { ingestKey } from '../../server/mail/ingest-key';
import { headerFields, splitRaw } from '../../server/mail/raw';

const hex = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'));
const lf = (...lines: string[]) => Buffer.from(lines.join('\n'));

const headers = [
  'From: Ana R. <ana@example.org>',
  'To: desk@example.org',
  'Subject: Website down',
  'Message-ID: <inc-7@example.org>',
];
const body = ['The website returns an error page.', '', 'Ana'];

describe('ingestKey', () => {
  it('when the same message arrives twice with an added Received and Delivered-To line, then both get the same key', () => {
    const first = crlf(...headers, '', ...body);
    const second = crlf(
      'Delivered-To: desk@example.org',
      'Received: from mx2.example.org by imap.example.org; Fri, 24 Apr 2026 08:16:00 +0000',
      ...headers,
      '',
      ...body,
    );

    const a = ingestKey('<inc-7@example.org>', first);
    const b = ingestKey('<inc-7@example.org>', second);

    expect(a).toBe(b);
    expect(a).toMatch(/^mid:[0-9a-f]{64}$/);
  });

  it('when two messages share a Message-ID but their bodies differ, then their keys differ', () => {
    const original = crlf(...headers, '', ...body);
    const edited = crlf(...headers, '', 'The website is back.', '', 'Ana');

    const a = ingestKey('<inc-7@example.org>', original);
    const b = ingestKey('<inc-7@example.org>', edited);

    expect(a).not.toBe(b);
  });

  it('when two messages share a body but their Message-IDs differ, then their keys differ', () => {
    const raw = crlf(...headers, '', ...body);

    const a = ingestKey('<inc-7@example.org>', raw);
    const b = ingestKey('<inc-8@example.org>', raw);

    expect(a).not.toBe(b);
  });

  it('when the Message-ID has surrounding whitespace, then the key is the same as for the trimmed id', () => {
    const raw = crlf(...headers, '', ...body);

    const padded = ingestKey('  <inc-7@example.org>\t', raw);
    const trimmed = ingestKey('<inc-7@example.org>', raw);

    expect(padded).toBe(trimmed);
  });

  it('when there is no Message-ID, then the key is raw: plus the sha256 of all the bytes', () => {
    const raw = crlf('Subject: no id', '', 'hello');

    const key = ingestKey(undefined, raw);

    expect(key).toBe(`raw:${hex(raw)}`);
  });

  it('when the Message-ID is empty or only whitespace, then the key is derived from the whole raw message', () => {
    const raw = crlf('Subject: blank id', '', 'hello');

    const empty = ingestKey('', raw);
    const blank = ingestKey('   ', raw);

    expect(empty).toBe(`raw:${hex(raw)}`);
    expect(blank).toBe(`raw:${hex(raw)}`);
  });

  it('when there is no Message-ID and a server adds a Received line, then the keys differ', () => {
    const first = crlf('Subject: no id', '', 'hello');
    const second = crlf('Received: from mx by imap', 'Subject: no id', '', 'hello');

    const a = ingestKey(undefined, first);
    const b = ingestKey(undefined, second);

    expect(a).not.toBe(b);
  });

  it('when LF-only deliveries differ only in their header block, then they get the same key', () => {
    const first = lf(...headers, '', ...body);
    const second = lf('Delivered-To: desk@example.org', ...headers, '', ...body);

    const a = ingestKey('<inc-7@example.org>', first);
    const b = ingestKey('<inc-7@example.org>', second);

    expect(a).toBe(b);
  });
});

describe('splitRaw', () => {
  it('when the message uses CRLF, then head ends before the blank line and body starts after it', () => {
    const raw = crlf('Subject: a', 'To: b@example.org', '', 'line 1', 'line 2');

    const { head, body } = splitRaw(raw);

    expect(head.toString()).toBe('Subject: a\r\nTo: b@example.org');
    expect(body.toString()).toBe('line 1\r\nline 2');
  });

  it('when the message uses bare LF, then it is split at the first empty line', () => {
    const raw = lf('Subject: a', 'To: b@example.org', '', 'line 1', 'line 2');

    const { head, body } = splitRaw(raw);

    expect(head.toString()).toBe('Subject: a\nTo: b@example.org');
    expect(body.toString()).toBe('line 1\nline 2');
  });

  it('when a CRLF message has a bare-LF blank line later in its body, then it is split at the CRLF blank line', () => {
    const raw = Buffer.from('Subject: a\r\n\r\nfirst\n\nsecond');

    const { head, body } = splitRaw(raw);

    expect(head.toString()).toBe('Subject: a');
    expect(body.toString()).toBe('first\n\nsecond');
  });

  it('when an LF message has a CRLF blank line later in its body, then it is split at the LF blank line', () => {
    const raw = Buffer.from('Subject: a\n\nfirst\r\n\r\nsecond');

    const { head, body } = splitRaw(raw);

    expect(head.toString()).toBe('Subject: a');
    expect(body.toString()).toBe('first\r\n\r\nsecond');
  });

  it('when there is no blank line, then everything is head and the body is empty', () => {
    const raw = crlf('Subject: headers only', 'To: b@example.org');

    const { head, body } = splitRaw(raw);

    expect(head.toString()).toBe('Subject: headers only\r\nTo: b@example.org');
    expect(body.length).toBe(0);
  });
});

describe('headerFields', () => {
  it('when a field is folded with a space and a tab, then its continuation lines are joined with single spaces', () => {
    const head = crlf('Subject: Website', '   returns an', '\terror page', 'To: desk@example.org');

    const fields = headerFields(head);

    expect(fields).toEqual([
      { name: 'Subject', value: 'Website returns an error page' },
      { name: 'To', value: 'desk@example.org' },
    ]);
  });

  it('when a name repeats, then every occurrence is kept in its original order', () => {
    const head = crlf(
      'Received: from c by d',
      'Subject: s',
      'Received: from b by c',
      '  (folded comment)',
      'Received: from a by b',
    );

    const fields = headerFields(head);

    expect(fields).toEqual([
      { name: 'Received', value: 'from c by d' },
      { name: 'Subject', value: 's' },
      { name: 'Received', value: 'from b by c (folded comment)' },
      { name: 'Received', value: 'from a by b' },
    ]);
  });

  it('when a value contains colons, then only the first colon separates name from value', () => {
    const head = lf('X-Time: 12:30:00', 'Importance:  high ');

    const fields = headerFields(head);

    expect(fields).toEqual([
      { name: 'X-Time', value: '12:30:00' },
      { name: 'Importance', value: 'high' },
    ]);
  });

  it('when a line has no colon and is not a continuation, then it is skipped', () => {
    const head = crlf('Subject: before', 'this line has no separator', 'To: desk@example.org');

    const fields = headerFields(head);

    expect(fields).toEqual([
      { name: 'Subject', value: 'before' },
      { name: 'To', value: 'desk@example.org' },
    ]);
  });

  it('when the head comes from splitRaw, then the header fields of the delivery are returned', () => {
    const raw = crlf('Delivered-To: desk@example.org', ...headers, '', ...body);

    const fields = headerFields(splitRaw(raw).head);

    expect(fields.map((f) => f.name)).toEqual(['Delivered-To', 'From', 'To', 'Subject', 'Message-ID']);
    expect(fields[4]).toEqual({ name: 'Message-ID', value: '<inc-7@example.org>' });
  });
});

describe('headerFields with an empty first line', () => {
  it('when a value starts on the continuation line, then it has no leading space', () => {
    expect(headerFields(Buffer.from('Subject:\r\n folded'))).toEqual([{ name: 'Subject', value: 'folded' }]);
  });
});
