import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_PARSE_LIMITS, ParseTimeoutError, parseMessage } from '../../server/mail/parse';

const hex = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'));
const base64Lines = (data: Buffer) => data.toString('base64').replace(/.{76}/g, '$&\r\n');

/**
 * A message of `levels` nested multiparts around one text/plain part, with a PDF attachment as the
 * first part of the outermost multipart (so a parsed body shows up as an attachment).
 */
function nestedMultiparts(levels: number, subject: string): Buffer {
  const lines = [`Subject: ${subject}`, 'Content-Type: multipart/mixed; boundary="b0"', ''];
  lines.push(
    '--b0',
    'Content-Type: application/pdf',
    'Content-Disposition: attachment; filename="evidence.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('%PDF-1.4 evidence').toString('base64'),
  );
  for (let i = 1; i < levels; i++)
    lines.push(`--b${i - 1}`, `Content-Type: multipart/mixed; boundary="b${i}"`, '');
  lines.push(`--b${levels - 1}`, 'Content-Type: text/plain', '', 'deep text', `--b${levels - 1}--`);
  for (let i = levels - 2; i >= 0; i--) lines.push(`--b${i}--`);
  return crlf(...lines, '');
}

describe('parseMessage', () => {
  it('when a message has only an HTML part, then text is the HTML turned into plain text', async () => {
    const raw = crlf(
      'From: "Ana R." <Ana@Example.org>',
      'To: desk@example.org',
      'Subject: Site down',
      'Message-ID: <html-only@example.org>',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><body><p>The <b>website</b> is down.</p><p>Second&nbsp;para</p></body></html>',
      '',
    );

    const parsed = await parseMessage(raw);

    expect(parsed.text).toBe('The website is down.\n\nSecond\u00a0para');
    expect(parsed.html).toContain('<b>website</b>');
    expect(parsed.subject).toBe('Site down');
    expect(parsed.messageId).toBe('<html-only@example.org>');
    expect(parsed.from).toEqual({ name: 'Ana R.', address: 'ana@example.org' });
    expect(parsed.to).toEqual([{ name: '', address: 'desk@example.org' }]);
    expect(parsed.partTypes).toEqual(['text/html']);
  });

  it('when headers repeat and fold, then they come back as name/value pairs in order with duplicates kept', async () => {
    const raw = crlf(
      'Received: from mx2 by imap',
      'Received: from mx1 by mx2',
      'Subject: headers',
      'X-Folded: one',
      '\ttwo',
      'Importance: high',
      '',
      'body',
      '',
    );

    const parsed = await parseMessage(raw);

    expect(parsed.headers).toEqual([
      { name: 'Received', value: 'from mx2 by imap' },
      { name: 'Received', value: 'from mx1 by mx2' },
      { name: 'Subject', value: 'headers' },
      { name: 'X-Folded', value: 'one two' },
      { name: 'Importance', value: 'high' },
    ]);
  });

  it('when a message has an attachment, then its sha256 is the sha256 of its decoded content', async () => {
    const content = randomBytes(3000);
    const raw = crlf(
      'Subject: evidence',
      'Content-Type: multipart/mixed; boundary="att"',
      '',
      '--att',
      'Content-Type: text/plain',
      '',
      'Screenshot attached.',
      '--att',
      'Content-Type: image/png; name="screen.png"',
      'Content-Disposition: attachment; filename="screen.png"',
      'Content-Transfer-Encoding: base64',
      '',
      base64Lines(content),
      '--att--',
      '',
    );

    const parsed = await parseMessage(raw);

    expect(parsed.text).toBe('Screenshot attached.');
    expect(parsed.attachments).toHaveLength(1);
    const [attachment] = parsed.attachments;
    expect(attachment!.filename).toBe('screen.png');
    expect(attachment!.contentType).toBe('image/png');
    expect(attachment!.size).toBe(3000);
    expect(attachment!.content.equals(content)).toBe(true);
    expect(attachment!.sha256).toBe(hex(content));
    expect(parsed.partTypes).toEqual(['multipart/mixed', 'text/plain', 'image/png']);
  });

  it('when a message is a reply, then In-Reply-To and References are returned', async () => {
    const raw = crlf(
      'Subject: Re: Site down',
      'Message-ID: <r2@example.org>',
      'In-Reply-To: <r1@example.org>',
      'References: <r0@example.org> <r1@example.org>',
      'Date: Fri, 24 Apr 2026 08:15:00 +0000',
      '',
      'Still down.',
      '',
    );

    const parsed = await parseMessage(raw);

    expect(parsed.inReplyTo).toBe('<r1@example.org>');
    expect(parsed.references).toEqual(['<r0@example.org>', '<r1@example.org>']);
    expect(parsed.date?.toISOString()).toBe('2026-04-24T08:15:00.000Z');
    expect(parsed.limited).toBeUndefined();
  });

  it('when the subject decodes to text with a NUL, then the NUL is removed', async () => {
    const encoded = Buffer.from('Site\u0000 down').toString('base64');
    const raw = crlf(`Subject: =?utf-8?B?${encoded}?=`, '', 'x', '');

    const parsed = await parseMessage(raw);

    expect(parsed.subject).toBe('Site down');
  });

  it('when a message is nested deeper than maxDepth, then limited is set, the body is not parsed and the subject is', async () => {
    const raw = nestedMultiparts(60, 'Very deep message');

    const parsed = await parseMessage(raw);

    expect(parsed.limited).toBe('MIME nesting deeper than 50 levels (at least 51)');
    expect(parsed.subject).toBe('Very deep message');
    expect(parsed.text).toBe(
      "[Tocsin did not parse this message's body: MIME nesting deeper than 50 levels (at least 51). The raw message is kept as evidence.]",
    );
    expect(parsed.text).not.toContain('deep text');
    expect(parsed.attachments).toEqual([]);
    expect(parsed.partTypes).toEqual(['multipart/mixed', 'application/pdf']);
  });

  it('when a message has more parts than maxParts, then limited names the part limit', async () => {
    const lines = ['Subject: Many parts', 'Content-Type: multipart/mixed; boundary="p"', ''];
    for (let i = 0; i < 20; i++) lines.push('--p', 'Content-Type: text/plain', '', `part ${i}`);
    lines.push('--p--', '');

    const parsed = await parseMessage(crlf(...lines), { ...DEFAULT_PARSE_LIMITS, maxParts: 5 });

    expect(parsed.limited).toBe('more than 5 MIME parts');
    expect(parsed.subject).toBe('Many parts');
    expect(parsed.text).not.toContain('part 0');
  });

  it('when a message is within the limits, then limited is not set and the deep text is parsed', async () => {
    const raw = nestedMultiparts(10, 'Ten levels');

    const parsed = await parseMessage(raw);

    expect(parsed.limited).toBeUndefined();
    expect(parsed.text).toBe('deep text');
    expect(parsed.attachments.map((a) => a.filename)).toEqual(['evidence.pdf']);
  });

  it('when parsing a 1 MB message takes longer than timeoutMs 1, then it rejects with ParseTimeoutError', async () => {
    const raw = crlf(
      'Subject: big',
      'Content-Type: multipart/mixed; boundary="big"',
      '',
      '--big',
      'Content-Type: text/plain',
      '',
      'hello',
      '--big',
      'Content-Type: application/octet-stream',
      'Content-Disposition: attachment; filename="a.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      base64Lines(randomBytes(1024 * 1024)),
      '--big--',
      '',
    );

    const parsing = parseMessage(raw, { ...DEFAULT_PARSE_LIMITS, timeoutMs: 1 });

    await expect(parsing).rejects.toBeInstanceOf(ParseTimeoutError);
    await expect(parsing).rejects.toThrow('parsing took longer than 1 ms');
  });
});
