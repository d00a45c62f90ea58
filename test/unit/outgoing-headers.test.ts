import {
  MAX_REFERENCES,
  extendThreadIndex,
  headerSafe,
  newThreadIndex,
  parseThreadIndex,
  threadTopic,
  trimReferences,
} from '../../server/mail/outgoing-headers';
import { caseReference } from '../../server/mail/message-ids';

const DOMAIN = 'tocsin.example.org';

/** Line breaks of every kind a header could be split at. */
const LINE_BREAK = /[\r\n\u0085\u2028\u2029]/;

describe('headerSafe', () => {
  it('when a subject smuggles "\\r\\nBcc: victim@example.org", then it stays one line with no header added', () => {
    const safe = headerSafe('Freezer broken\r\nBcc: victim@example.org');

    expect(safe).toBe('Freezer broken Bcc: victim@example.org');
    expect(safe).not.toMatch(LINE_BREAK);
  });

  it('when an encoded word =?utf-8?Q?x=0D=0ABcc:_a@b.c?= was decoded to a CRLF, then no line break is left', () => {
    // What mailparser makes of that encoded word: the CR LF are real characters now.
    const decoded = 'x\r\nBcc: a@b.c';

    expect(headerSafe(decoded)).toBe('x Bcc: a@b.c');
    expect(headerSafe(decoded)).not.toMatch(LINE_BREAK);
  });

  it('when the encoded word arrives still encoded, then it is plain text and left as it is', () => {
    expect(headerSafe('=?utf-8?Q?x=0D=0ABcc:_a@b.c?=')).toBe('=?utf-8?Q?x=0D=0ABcc:_a@b.c?=');
  });

  it.each([
    ['a bare LF', 'a\nBcc: b'],
    ['a bare CR', 'a\rBcc: b'],
    ['a folded line', 'a\r\n\tBcc: b'],
    ['NEL (U+0085)', 'a\u0085Bcc: b'],
    ['LINE SEPARATOR (U+2028)', 'a\u2028Bcc: b'],
    ['PARAGRAPH SEPARATOR (U+2029)', 'a\u2029Bcc: b'],
    ['vertical tab and form feed', 'a\v\fBcc: b'],
  ])('when the value has %s, then it becomes a space', (_, value) => {
    expect(headerSafe(value)).toBe('a Bcc: b');
  });

  it('when the value has other control characters (NUL, BEL, ESC, DEL, C1), then they are dropped', () => {
    expect(headerSafe('a\u0000b\u0007c\u001bd\u007fe\u0080f\u009fg')).toBe('abcdefg');
  });

  it('when the value has tabs and runs of spaces, then they collapse to one space and the ends are trimmed', () => {
    expect(headerSafe('  \tFreezer \t  broken\u00a0 ')).toBe('Freezer broken');
  });

  it('when the value has letters of any script and emoji, then they are kept', () => {
    expect(headerSafe('Kühlschrank 冷蔵庫 🧊 réparé')).toBe('Kühlschrank 冷蔵庫 🧊 réparé');
  });

  it('when the value is longer than the maximum, then it is cut to it (998 by default)', () => {
    expect(headerSafe('x'.repeat(2000))).toHaveLength(998);
    expect(headerSafe('abc def', 4)).toBe('abc');
    expect(headerSafe('abcdef', 0)).toBe('');
  });

  it('when the cut would fall inside an emoji, then the whole emoji goes', () => {
    expect(headerSafe('ab🧊', 3)).toBe('ab');
  });

  it('when the value has a lone surrogate, then it is made well formed', () => {
    expect(headerSafe('a\ud800b')).toBe('a\ufffdb');
  });
});

describe('threadTopic', () => {
  it('when the subject has reply prefixes, then the topic is the subject without them', () => {
    expect(threadTopic('Re: AW: [INC-2026-007] Freezer broken')).toBe('[INC-2026-007] Freezer broken');
  });

  it('when the subject smuggles a header, then the topic is still one line', () => {
    expect(threadTopic('Re: Freezer\r\nBcc: victim@example.org')).toBe('Freezer Bcc: victim@example.org');
  });

  it('when the prefix comes after a line break, then it is still stripped', () => {
    expect(threadTopic('\r\n Re:\r\n Fwd: Freezer')).toBe('Freezer');
  });
});

describe('trimReferences', () => {
  const ids = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `<m${i + from}@x.org>`);

  it('when there are 10 or fewer, then all are kept in order', () => {
    expect(trimReferences(ids(10))).toEqual(ids(10));
  });

  it('when there are more than 10, then the first 4 and the last 6 are kept', () => {
    expect(trimReferences(ids(25))).toEqual([...ids(4), ...ids(6, 20)]);
  });

  it('when there is a case reference, then it leads, and the first 4 and last 6 follow (11 in all)', () => {
    const caseRef = caseReference(DOMAIN, 'INC-2026-007');

    const refs = trimReferences(ids(25), caseRef);

    expect(refs).toEqual([caseRef, ...ids(4), ...ids(6, 20)]);
    expect(refs).toHaveLength(MAX_REFERENCES + 1);
  });

  it('when the case reference is already in the middle, then it moves to the front once', () => {
    const caseRef = '<inc-2026-007.case@tocsin.example.org>';

    expect(trimReferences(['<a@x.org>', caseRef, '<b@x.org>'], caseRef)).toEqual([
      caseRef,
      '<a@x.org>',
      '<b@x.org>',
    ]);
  });

  it('when the case reference was in the trimmed middle of a long chain, then it is still there, once', () => {
    const caseRef = '<inc-2026-007.case@tocsin.example.org>';
    const long = [...ids(8), caseRef, ...ids(12, 9)];

    const refs = trimReferences(long, caseRef);

    expect(refs.filter((r) => r === caseRef)).toHaveLength(1);
    expect(refs).toEqual([caseRef, ...ids(4), ...ids(6, 15)]);
  });

  it('when there are no references, then the case reference alone is the list', () => {
    expect(trimReferences([], '<inc-2026-007.case@tocsin.example.org>')).toEqual([
      '<inc-2026-007.case@tocsin.example.org>',
    ]);
  });

  it('when ids repeat, are padded, bare, or several to a value, then they are deduplicated and bracketed', () => {
    expect(trimReferences([' <a@x.org> ', 'b@x.org', '<a@x.org> <c@x.org>', '<b@x.org>'])).toEqual([
      '<a@x.org>',
      '<b@x.org>',
      '<c@x.org>',
    ]);
  });

  it('when duplicates would push the count over 10, then the count is of distinct ids', () => {
    const refs = [...ids(6), ...ids(6), ...ids(4, 7)];

    expect(trimReferences(refs)).toEqual(ids(10));
  });
});

describe('Thread-Index', () => {
  const GUID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const bytes = (value: string) => Buffer.from(value, 'base64');
  const START = new Date('2026-03-01T12:00:00Z');

  it('when a new one is made, then it is 22 bytes: 0x01, five bytes of FILETIME, the GUID', () => {
    const b = bytes(newThreadIndex(START, GUID));

    expect(b).toHaveLength(22);
    expect(b[0]).toBe(0x01);
    // The FILETIME of START is 134 168 400 000 000 000 = 0x01DCA972EE152000: its high 40 bits.
    expect(b.subarray(1, 6).toString('hex')).toBe('01dca972ee');
    expect(b.subarray(6)).toEqual(GUID);
  });

  it('when a new one is decoded, then its time is the start, to the 1.68 s resolution, never later', () => {
    for (const start of [START, new Date('2030-07-15T03:04:05.678Z'), new Date()]) {
      const parsed = parseThreadIndex(newThreadIndex(start, GUID))!;

      expect(start.getTime() - parsed.time.getTime()).toBeGreaterThanOrEqual(0);
      expect(start.getTime() - parsed.time.getTime()).toBeLessThan(1678);
      expect(parsed.guid).toBe(GUID.toString('hex'));
      expect(parsed.children).toEqual([]);
    }
  });

  it('when no GUID is given, then each conversation gets its own; a GUID of the wrong size throws', () => {
    expect(newThreadIndex(START).slice(0, 8)).toBe(newThreadIndex(START).slice(0, 8));
    expect(newThreadIndex(START)).not.toBe(newThreadIndex(START));
    expect(() => newThreadIndex(START, Buffer.alloc(15))).toThrow(/16 bytes/);
  });

  it('when extended, then the old bytes are the prefix and exactly 5 bytes follow', () => {
    const existing = newThreadIndex(START, GUID);

    const extended = extendThreadIndex(existing, new Date(START.getTime() + 90_000))!;

    expect(bytes(extended)).toHaveLength(27);
    expect(bytes(extended).subarray(0, 22)).toEqual(bytes(existing));
  });

  it('when a reply comes minutes later, then the child block holds that delay (code 0, 26 ms steps)', () => {
    const existing = newThreadIndex(START, GUID);
    const headerTime = parseThreadIndex(existing)!.time.getTime();
    const now = new Date(START.getTime() + 5 * 60_000);

    const [child] = parseThreadIndex(extendThreadIndex(existing, now)!)!.children;

    expect(child!.deltaCode).toBe(0);
    expect(now.getTime() - headerTime - child!.deltaMs).toBeGreaterThanOrEqual(0);
    expect(now.getTime() - headerTime - child!.deltaMs).toBeLessThan(27);
    expect(child!.sequence).toBe(0);
    expect(child!.random).toBeGreaterThanOrEqual(0);
    expect(child!.random).toBeLessThan(16);
  });

  it('when a reply comes years later, then the child block uses code 1 (839 ms steps)', () => {
    const existing = newThreadIndex(START, GUID);
    const headerTime = parseThreadIndex(existing)!.time.getTime();
    const now = new Date('2029-01-01T00:00:00Z');

    const [child] = parseThreadIndex(extendThreadIndex(existing, now)!)!.children;

    expect(child!.deltaCode).toBe(1);
    expect(now.getTime() - headerTime - child!.deltaMs).toBeGreaterThanOrEqual(0);
    expect(now.getTime() - headerTime - child!.deltaMs).toBeLessThan(839);
  });

  it('when the switch to code 1 comes, then it is at 2^49 × 100 ns (about 1.78 years)', () => {
    const existing = newThreadIndex(START, GUID);
    const headerTime = parseThreadIndex(existing)!.time.getTime();
    const limitMs = 2 ** 49 / 10_000;
    const code = (ms: number) =>
      parseThreadIndex(extendThreadIndex(existing, new Date(headerTime + ms))!)!.children[0]!.deltaCode;

    expect(code(Math.floor(limitMs) - 1)).toBe(0);
    expect(code(Math.ceil(limitMs) + 1)).toBe(1);
  });

  it('when extended again and again, then each block is appended and the sequence counts them', () => {
    let value = newThreadIndex(START, GUID);
    for (let i = 1; i <= 3; i++) value = extendThreadIndex(value, new Date(START.getTime() + i * 3_600_000))!;

    const parsed = parseThreadIndex(value)!;

    expect(bytes(value)).toHaveLength(22 + 3 * 5);
    expect(parsed.children.map((c) => c.sequence)).toEqual([0, 1, 2]);
    expect(parsed.children.map((c) => Math.round(c.deltaMs / 3_600_000))).toEqual([1, 2, 3]);
  });

  it('when our clock is behind the sender’s, then the delay is zero, not negative', () => {
    const existing = newThreadIndex(START, GUID);

    const [child] = parseThreadIndex(
      extendThreadIndex(existing, new Date(START.getTime() - 60_000))!,
    )!.children;

    expect(child).toMatchObject({ deltaCode: 0, deltaMs: 0 });
  });

  it('when Exchange Online’s value from a real bounce is read, then its time is the mail’s Date', () => {
    // sisimai lhost-office365-04: "Thread-Index: AQHT8m5RiOrCDdowhU2Xf10vOxHZpw==" and
    // "Date: Wed, 23 May 2018 08:16:15 +0000" on the returned message.
    const parsed = parseThreadIndex('AQHT8m5RiOrCDdowhU2Xf10vOxHZpw==')!;

    expect(Date.parse('2018-05-23T08:16:15Z') - parsed.time.getTime()).toBeGreaterThanOrEqual(0);
    expect(Date.parse('2018-05-23T08:16:15Z') - parsed.time.getTime()).toBeLessThan(1678);
    expect(parsed.guid).toBe('88eac20dda30854d977f5d2f3b11d9a7');
  });

  it('when a real Exchange value is extended, then its 22 bytes lead and the delay is from its time', () => {
    const existing = 'AQHT8m5RiOrCDdowhU2Xf10vOxHZpw==';

    const extended = extendThreadIndex(existing, new Date('2018-05-23T08:20:00Z'))!;

    expect(bytes(extended).subarray(0, 22)).toEqual(bytes(existing));
    expect(Math.round(parseThreadIndex(extended)!.children[0]!.deltaMs / 1000)).toBe(226);
  });

  it('when an Outlook 2003 value (the 6-byte FILETIME form) is read, then its time is right too', () => {
    // The high 48 bits of the FILETIME of 2004-03-10T09:00:00Z, then a GUID.
    const fileTime = BigInt(Date.parse('2004-03-10T09:00:00Z')) * 10_000n + 116_444_736_000_000_000n;
    const header = Buffer.alloc(22);
    header.writeUIntBE(Number(fileTime >> 16n), 0, 6);
    GUID.copy(header, 6);

    const parsed = parseThreadIndex(header.toString('base64'))!;

    expect(header[1]).not.toBe(0x01);
    expect(Date.parse('2004-03-10T09:00:00Z') - parsed.time.getTime()).toBeGreaterThanOrEqual(0);
    expect(Date.parse('2004-03-10T09:00:00Z') - parsed.time.getTime()).toBeLessThan(7);
  });

  it.each([
    ['empty', ''],
    ['not base64', 'not a thread index!'],
    ['21 bytes', Buffer.alloc(21, 1).toString('base64')],
    ['23 bytes (not 22 + 5n)', Buffer.alloc(23, 1).toString('base64')],
    ['26 bytes (not 22 + 5n)', Buffer.alloc(26, 1).toString('base64')],
    ['absurdly long', Buffer.alloc(22 + 5 * 1000, 1).toString('base64')],
  ])('when the existing value is %s, then there is nothing to extend or read', (_, value) => {
    expect(extendThreadIndex(value, START)).toBeUndefined();
    expect(parseThreadIndex(value)).toBeUndefined();
  });

  it('when the existing value was folded across lines, then it is still read', () => {
    const existing = newThreadIndex(START, GUID);
    const folded = `${existing.slice(0, 10)}\r\n ${existing.slice(10)}`;

    expect(bytes(extendThreadIndex(folded, START)!).subarray(0, 22)).toEqual(bytes(existing));
  });
});
