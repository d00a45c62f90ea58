import { mimeShape, shapeProblem, type MimeLimits } from '../../server/mail/mime-shape';

const crlf = (...lines: string[]) => Buffer.from(lines.join('\r\n'));
const lf = (...lines: string[]) => Buffer.from(lines.join('\n'));

/** A message of `levels` multiparts, each the only part of the one around it, with one text/plain leaf. */
function nestedMultiparts(levels: number): Buffer {
  const lines = ['Subject: deep', 'Content-Type: multipart/mixed; boundary="b0"', ''];
  for (let i = 1; i < levels; i++)
    lines.push(`--b${i - 1}`, `Content-Type: multipart/mixed; boundary="b${i}"`, '');
  lines.push(`--b${levels - 1}`, 'Content-Type: text/plain', '', 'hi', `--b${levels - 1}--`);
  for (let i = levels - 2; i >= 0; i--) lines.push(`--b${i}--`);
  return crlf(...lines, '');
}

const alternative = [
  'From: ana@example.org',
  'Subject: hello',
  'Content-Type: multipart/alternative; boundary="alt"',
  '',
  'preamble',
  '--alt',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Hello',
  '--alt',
  'Content-Type: text/html; charset=utf-8',
  '',
  '<p>Hello</p>',
  '--alt--',
  '',
];

describe('mimeShape', () => {
  it('when a message is a single text part, then depth and parts are 0 and its type is listed', () => {
    const raw = crlf('Subject: plain', 'Content-Type: text/plain; charset=utf-8', '', 'Hello', '');

    const shape = mimeShape(raw);

    expect(shape).toEqual({ depth: 0, parts: 0, types: ['text/plain'] });
  });

  it('when a message has no Content-Type header, then no type is listed', () => {
    const raw = crlf('Subject: bare', '', 'Hello', '');

    const shape = mimeShape(raw);

    expect(shape).toEqual({ depth: 0, parts: 0, types: [] });
  });

  it('when a message is multipart/alternative with two parts, then depth is 1 and parts is 2', () => {
    const raw = crlf(...alternative);

    const shape = mimeShape(raw);

    expect(shape).toEqual({
      depth: 1,
      parts: 2,
      types: ['multipart/alternative', 'text/plain', 'text/html'],
    });
  });

  it('when the message uses bare LF line endings, then the shape is the same as with CRLF', () => {
    const raw = lf(...alternative);

    const shape = mimeShape(raw);

    expect(shape).toEqual({
      depth: 1,
      parts: 2,
      types: ['multipart/alternative', 'text/plain', 'text/html'],
    });
  });

  it('when a multipart/alternative is nested in a multipart/mixed, then depth is 2 and every part is counted', () => {
    const raw = crlf(
      'Subject: nested',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain',
      '',
      'text',
      '--inner',
      'Content-Type: text/html',
      '',
      '<p>html</p>',
      '--inner--',
      '--outer',
      'Content-Type: application/pdf; name="report.pdf"',
      'Content-Disposition: attachment; filename="report.pdf"',
      '',
      'JVBERi0=',
      '--outer--',
      '',
    );

    const shape = mimeShape(raw);

    expect(shape).toEqual({
      depth: 2,
      parts: 4,
      types: ['multipart/mixed', 'multipart/alternative', 'text/plain', 'text/html', 'application/pdf'],
    });
  });

  it('when multiparts are nested 200 levels deep and no limits are given, then depth 200 and 200 parts are seen', () => {
    const raw = nestedMultiparts(200);

    const shape = mimeShape(raw);

    expect(shape.depth).toBe(200);
    expect(shape.parts).toBe(200);
  });

  it('when multiparts are nested 200 levels deep with maxDepth 50, then the scan stops just past the limit', () => {
    const raw = nestedMultiparts(200);
    const limits: MimeLimits = { maxDepth: 50, maxParts: 500 };

    const shape = mimeShape(raw, limits);

    expect(shape.depth).toBe(51);
    expect(shape.parts).toBe(50);
    expect(shape.types).toEqual(['multipart/mixed']);
  });

  it('when a message has more parts than maxParts, then the scan stops at maxParts + 1', () => {
    const lines = ['Subject: many', 'Content-Type: multipart/mixed; boundary="p"', ''];
    for (let i = 0; i < 100; i++) lines.push('--p', 'Content-Type: text/plain', '', `part ${i}`);
    lines.push('--p--', '');
    const raw = crlf(...lines);

    const shape = mimeShape(raw, { maxDepth: 50, maxParts: 10 });

    expect(shape.parts).toBe(11);
    expect(shape.depth).toBe(1);
  });

  it('when the closing boundary is missing, then the opened parts are still counted', () => {
    const raw = crlf(
      'Subject: cut short',
      'Content-Type: multipart/mixed; boundary="cut"',
      '',
      '--cut',
      'Content-Type: text/plain',
      '',
      'first',
      '--cut',
      'Content-Type: image/png',
      '',
      'iVBORw0KGgo=',
    );

    const shape = mimeShape(raw);

    expect(shape).toEqual({ depth: 1, parts: 2, types: ['multipart/mixed', 'text/plain', 'image/png'] });
  });

  it('when Content-Type is folded over lines and the boundary is quoted with a space and semicolon, then the boundary is found', () => {
    const raw = crlf(
      'Subject: folded',
      'Content-Type: multipart/mixed;',
      '\tcharset="utf-8";',
      ' boundary="=_folded boundary;1"',
      '',
      '--=_folded boundary;1',
      'Content-Type: text/plain',
      '',
      'one',
      '--=_folded boundary;1',
      'Content-Type: text/plain',
      '',
      'two',
      '--=_folded boundary;1--',
      '',
    );

    const shape = mimeShape(raw);

    expect(shape).toEqual({ depth: 1, parts: 2, types: ['multipart/mixed', 'text/plain'] });
  });

  it('when a boundary line has trailing whitespace, then it still opens a part', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary=plainb',
      '',
      '--plainb  ',
      'Content-Type: text/plain',
      '',
      'x',
      '--plainb--',
      '',
    );

    const shape = mimeShape(raw);

    expect(shape.parts).toBe(1);
  });

  it('when a body line starts with -- but is not a boundary, then it is not counted as a part', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary="sig"',
      '',
      '--sig',
      'Content-Type: text/plain',
      '',
      'Regards',
      '-- ',
      '--signature',
      '--sig--',
      '',
    );

    const shape = mimeShape(raw);

    expect(shape.parts).toBe(1);
  });

  it('when the epilogue after the closing boundary repeats the boundary, then no more parts are counted', () => {
    const raw = crlf(
      'Content-Type: multipart/mixed; boundary="ep"',
      '',
      '--ep',
      'Content-Type: text/plain',
      '',
      'only part',
      '--ep--',
      'epilogue text',
      '--ep',
      'Content-Type: text/html',
      '',
      '<p>not a part</p>',
      '',
    );

    const shape = mimeShape(raw);

    expect(shape).toEqual({ depth: 1, parts: 1, types: ['multipart/mixed', 'text/plain'] });
  });

  it('when a part is a forwarded message, then types lists message/rfc822 in lower case, once per type', () => {
    const raw = crlf(
      'Subject: Fwd: suspicious',
      'Content-Type: Multipart/Mixed; boundary="fw"',
      '',
      '--fw',
      'Content-Type: text/plain',
      '',
      'Please look at the attached message.',
      '--fw',
      'Content-Type: Message/RFC822',
      '',
      'Subject: You won',
      'Content-Type: text/plain',
      '',
      'Click here',
      '--fw',
      'Content-Type: TEXT/PLAIN',
      '',
      'PS',
      '--fw--',
      '',
    );

    const shape = mimeShape(raw);

    expect(shape.types).toEqual(['multipart/mixed', 'text/plain', 'message/rfc822']);
    expect(shape.parts).toBe(3);
  });
});

describe('shapeProblem', () => {
  const limits: MimeLimits = { maxDepth: 50, maxParts: 500 };

  it('when depth is past the limit, then the problem names the limit and the depth seen', () => {
    const problem = shapeProblem({ depth: 51, parts: 50, types: [] }, limits);

    expect(problem).toBe('MIME nesting deeper than 50 levels (at least 51)');
  });

  it('when parts are past the limit, then the problem names the part limit', () => {
    const problem = shapeProblem({ depth: 1, parts: 501, types: [] }, limits);

    expect(problem).toBe('more than 500 MIME parts');
  });

  it('when both depth and parts are past the limits, then the depth problem is reported', () => {
    const problem = shapeProblem({ depth: 60, parts: 600, types: [] }, limits);

    expect(problem).toBe('MIME nesting deeper than 50 levels (at least 60)');
  });

  it('when depth and parts are exactly at the limits, then there is no problem', () => {
    const problem = shapeProblem({ depth: 50, parts: 500, types: [] }, limits);

    expect(problem).toBeUndefined();
  });

  it('when a scanned 200-level message is checked, then the problem is reported from the early-stopped scan', () => {
    const shape = mimeShape(nestedMultiparts(200), limits);

    const problem = shapeProblem(shape, limits);

    expect(problem).toBe('MIME nesting deeper than 50 levels (at least 51)');
  });
});

describe('mimeShape with parts whose headers never end', () => {
  it('when boundary lines follow part headers with no blank line, then every part is still counted', () => {
    const parts = Array.from({ length: 800 }, () => '--b\r\nContent-Type: text/plain\r\n').join('');
    const raw = Buffer.from(
      `Subject: many\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n${parts}--b--\r\n`,
    );
    const limits: MimeLimits = { maxDepth: 50, maxParts: 500 };
    expect(mimeShape(raw).parts).toBe(800);
    expect(shapeProblem(mimeShape(raw, limits), limits)).toBe('more than 500 MIME parts');
  });
});
