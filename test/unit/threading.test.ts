import { createHmac } from 'node:crypto';
import {
  MAX_BODY_KEYS,
  MAX_REFERENCE_IDS,
  markerIsGenuine,
  normalizeCaseKey,
  replyMarker,
  replySubject,
  threadClues,
  type ThreadInput,
} from '../../server/conversation/threading';

const PREFIXES = ['SUP', 'INC', 'DEV', 'ABU', 'DAT', 'PHI'];
const SECRET = 'a-secret-only-the-desk-knows';

/** The clues of a message that is empty but for `over`. */
const clues = (over: Partial<ThreadInput> = {}, prefixes = PREFIXES) =>
  threadClues({ subject: '', references: [], text: '', ...over }, prefixes);
const subjectKeys = (subject: string, prefixes = PREFIXES) => clues({ subject }, prefixes).subjectKeys;

/** The tag replyMarker must write: HMAC-SHA256(secret, key), first 10 hex digits. */
const expectedTag = (key: string, secret = SECRET) =>
  createHmac('sha256', secret).update(key).digest('hex').slice(0, 10);

describe('threadClues: case keys in the subject', () => {
  it.each([
    ['INC-2026-007', 'the canonical form'],
    ['[INC-2026-007] Freezer broken', 'square brackets'],
    ['(INC-2026-007) Freezer broken', 'parentheses'],
    ['[ INC-2026-007 ] Freezer broken', 'spaced brackets'],
    ['Freezer INC-2026-007] broken', 'a lost opening bracket'],
    ['{INC-2026-007} Freezer broken', 'braces'],
    ['INC 2026 007 Freezer broken', 'spaces for dashes'],
    ['inc-2026-007 freezer broken', 'lower case'],
    ['Inc-2026-007', 'mixed case'],
    ['INC-2026-7', 'an unpadded number'],
    ['INC-2026-0007', 'a number padded too far'],
    ['INC – 2026 – 007', 'spaced en dashes, as a word processor writes them'],
    ['INC_2026_007', 'underscores'],
    ['Freezer broken (was:INC-2026-007)', 'a colon before the key'],
  ])('when the subject is "%s" (%s), then the key is INC-2026-007', (subject) => {
    expect(subjectKeys(subject)).toEqual(['INC-2026-007']);
  });

  it.each([
    'Re: [INC-2026-007] Freezer',
    'RE: RE: [INC-2026-007] Freezer',
    'AW: Re: [INC-2026-007] Freezer',
    'RV: [INC-2026-007] Freezer',
    'Fwd: FW: [INC-2026-007] Freezer',
    'WG: [INC-2026-007] Freezer',
    'TR: [INC-2026-007] Freezer',
    'SV: [INC-2026-007] Freezer',
    'Antw: [INC-2026-007] Freezer',
    'Réf. : [INC-2026-007] Freezer',
    'Re[3]: Fwd: AW:[INC-2026-007] Freezer',
  ])('when the key follows reply prefixes ("%s"), then it is found', (subject) => {
    expect(subjectKeys(subject)).toEqual(['INC-2026-007']);
  });

  it('when the number has more than three digits, then it keeps them, without leading zeros', () => {
    expect(subjectKeys('[SUP-2026-1234] and [SUP-2026-000123456]')).toEqual(['SUP-2026-1234']);
    expect(subjectKeys('[SUP-2026-123456]')).toEqual(['SUP-2026-123456']);
  });

  it.each([
    ['ABC-2026-001', 'ABC is not a case type'],
    ['XINC-2026-007', 'inside a longer word'],
    ['9INC-2026-007', 'after a digit'],
    ['INC-2026-0071234567', 'an absurdly long number'],
    ['INC-2026-1234567', 'a seven-digit number'],
    ['INC-2026-007abc', 'letters glued to the number'],
    ['INC-1999-007', 'a year before 2000'],
    ['INC-2100-007', 'a year after 2099'],
    ['INC-26-007', 'a two-digit year'],
    ['INC-2026-000', 'number zero, which no case has'],
    ['INC2026007', 'no separators at all'],
    ['inc 2026 007', 'lower case and spaces, more likely prose than a key'],
  ])('when the subject has "%s" (%s), then no key is found', (subject) => {
    expect(subjectKeys(`Re: ${subject} Freezer`)).toEqual([]);
  });

  it('when the subject names several cases, then every key is found once, in order', () => {
    expect(subjectKeys('Re: [INC-2026-007] merged with SUP-2025-12 (was INC-2026-7)')).toEqual([
      'INC-2026-007',
      'SUP-2025-012',
    ]);
  });

  it('when the playbook types are given in lower case, then they still count', () => {
    expect(subjectKeys('[INC-2026-007]', ['inc'])).toEqual(['INC-2026-007']);
  });

  it('when a type is not 2–6 capital letters, then it is ignored rather than matched', () => {
    expect(subjectKeys('[I-2026-007] [TOOLONG-2026-007] [I.C-2026-007]', ['I', 'TOOLONG', 'I.C'])).toEqual(
      [],
    );
    expect(subjectKeys('[INC-2026-007]', [])).toEqual([]);
  });

  it('when one prefix is the start of another, then the longer one is matched whole', () => {
    expect(subjectKeys('[INCI-2026-001] [INC-2026-002]', ['INC', 'INCI'])).toEqual([
      'INCI-2026-001',
      'INC-2026-002',
    ]);
  });
});

describe('threadClues: reference ids', () => {
  it('when In-Reply-To and References are set, then In-Reply-To comes first, then References newest first', () => {
    const c = clues({ inReplyTo: '<c@x.org>', references: ['<a@x.org>', '<b@x.org>', '<c@x.org>'] });

    expect(c.referenceIds).toEqual(['<c@x.org>', '<b@x.org>', '<a@x.org>']);
  });

  it('when ids are padded, bare, or several in one value, then each is normalized to <id>', () => {
    const c = clues({
      inReplyTo: '  <p@x.org> (Ada’s message of Monday)  ',
      references: [' bare@x.org ', '<m1@x.org> <m2@x.org>'],
    });

    expect(c.referenceIds).toEqual(['<p@x.org>', '<m2@x.org>', '<m1@x.org>', '<bare@x.org>']);
  });

  it('when a value is empty, blank or "<>", then it gives no id', () => {
    expect(clues({ inReplyTo: '', references: ['   ', '<>', 'two words'] }).referenceIds).toEqual([]);
  });

  it('when there are more than 50 references, then the 50 newest are kept', () => {
    const references = Array.from({ length: 80 }, (_, i) => `<m${i}@x.org>`);

    const ids = clues({ references }).referenceIds;

    expect(ids).toHaveLength(MAX_REFERENCE_IDS);
    expect(ids[0]).toBe('<m79@x.org>');
    expect(ids[49]).toBe('<m30@x.org>');
  });
});

describe('replyMarker and markerIsGenuine', () => {
  it('when a marker is made, then it reads "Ref: <key> · tocsin-<10 hex of the HMAC of the key>"', () => {
    expect(replyMarker('INC-2026-007', SECRET)).toBe(
      `Ref: INC-2026-007 · tocsin-${expectedTag('INC-2026-007')}`,
    );
  });

  it('when the key is given in a lenient form, then the marker has the canonical key and its tag', () => {
    expect(replyMarker('inc-2026-7', SECRET)).toBe(replyMarker('INC-2026-007', SECRET));
  });

  it('when the key or the secret differ, then the tag differs', () => {
    const tag = (m: string) => m.split('tocsin-')[1];

    expect(tag(replyMarker('INC-2026-007', SECRET))).not.toBe(tag(replyMarker('INC-2026-008', SECRET)));
    expect(tag(replyMarker('INC-2026-007', SECRET))).not.toBe(tag(replyMarker('INC-2026-007', 'other')));
  });

  it('when the marker is not about a case key, or the secret is empty, then making it throws', () => {
    expect(() => replyMarker('hello', SECRET)).toThrow(/not a case key/);
    expect(() => replyMarker('INC-2026-007', '')).toThrow(/secret is empty/);
  });

  it('when the tag is the one for the key, then it is genuine, in any case', () => {
    const tag = expectedTag('INC-2026-007');

    expect(markerIsGenuine({ key: 'INC-2026-007', tag }, SECRET)).toBe(true);
    expect(markerIsGenuine({ key: 'inc-2026-7', tag: tag.toUpperCase() }, SECRET)).toBe(true);
  });

  it('when the tag is for another key, another secret, or cut short, then it is not genuine', () => {
    const tag = expectedTag('INC-2026-007');

    expect(markerIsGenuine({ key: 'INC-2026-008', tag }, SECRET)).toBe(false);
    expect(markerIsGenuine({ key: 'INC-2026-007', tag }, 'other-secret')).toBe(false);
    expect(markerIsGenuine({ key: 'INC-2026-007', tag: tag.slice(0, 9) }, SECRET)).toBe(false);
    expect(markerIsGenuine({ key: 'INC-2026-007', tag: `${tag}0` }, SECRET)).toBe(false);
    expect(markerIsGenuine({ key: 'not a key', tag }, SECRET)).toBe(false);
  });
});

describe('threadClues: markers in the body', () => {
  const marker = replyMarker('INC-2026-007', SECRET);
  const tag = expectedTag('INC-2026-007');
  const found = [{ key: 'INC-2026-007', tag }];
  const markersIn = (text: string) => clues({ text }).bodyMarkers;

  it('when the marker is in the body as we wrote it, then it is found and genuine', () => {
    const c = clues({ text: `Thanks, fixed.\n\n-- \n${marker}\n` });

    expect(c.bodyMarkers).toEqual(found);
    expect(markerIsGenuine(c.bodyMarkers[0]!, SECRET)).toBe(true);
  });

  it.each([
    ['quoted', `Thanks!\n\nOn Monday the desk wrote:\n> Hello\n> ${marker}\n`],
    ['quoted twice', `>> > ${marker}`],
    ['lower-cased', marker.toLowerCase()],
    ['upper-cased', marker.toUpperCase()],
    ['wrapped before the tag, then quoted', `> Ref: INC-2026-007 ·\n> tocsin-${tag}`],
    ['wrapped at the tag’s hyphen', `> > Ref: INC-2026-007 · tocsin-\n> > ${tag}`],
    ['wrapped inside the key', `> Ref: INC-\n> 2026-007 · tocsin-${tag}`],
    ['with the dot mangled by a wrong charset', `Ref: INC-2026-007 Â· tocsin-${tag}`],
    ['with the dot lost', `Ref: INC-2026-007 ? tocsin-${tag}`],
    ['without "Ref:", in an HTML table turned to text', `INC-2026-007\t·\ttocsin-${tag}`],
    ['with padded whitespace', `Ref:   INC-2026-007   ·   tocsin-${tag}`],
  ])('when the marker is %s, then it is still found', (_, text) => {
    expect(markersIn(text)).toEqual(found);
  });

  it('when a marker has a forged tag, then it is reported but not genuine', () => {
    const [m] = markersIn('Ref: INC-2026-009 · tocsin-0123456789');

    expect(m).toEqual({ key: 'INC-2026-009', tag: '0123456789' });
    expect(markerIsGenuine(m!, SECRET)).toBe(false);
  });

  it('when the same marker is quoted many times, then it is reported once', () => {
    expect(markersIn(`${marker}\n> ${marker}\n> > ${marker}`)).toEqual(found);
  });

  it('when the tag is not 10 hex digits, or the prefix is not a type, then no marker is found', () => {
    expect(markersIn('Ref: INC-2026-007 · tocsin-012345678')).toEqual([]);
    expect(markersIn('Ref: INC-2026-007 · tocsin-0123456789a')).toEqual([]);
    expect(markersIn('Ref: INC-2026-007 · tocsin-xyz0123456')).toEqual([]);
    expect(markersIn(`Ref: ABC-2026-007 · tocsin-${tag}`)).toEqual([]);
  });

  it('when markers of several cases are quoted, then each is found, in order', () => {
    const other = replyMarker('SUP-2025-123', SECRET);

    expect(markersIn(`${other}\n> ${marker}`).map((m) => m.key)).toEqual(['SUP-2025-123', 'INC-2026-007']);
  });
});

describe('threadClues: bare keys in the body', () => {
  const bodyKeys = (text: string) => clues({ text }).bodyKeys;

  it('when the body mentions keys, quoted or not, then each is found once, canonical', () => {
    expect(bodyKeys('About INC-2026-7:\n> see also sup-2025-012 and INC-2026-007.')).toEqual([
      'INC-2026-007',
      'SUP-2025-012',
    ]);
  });

  it('when a body key is written with spaces, then it is not taken (prose could read so)', () => {
    expect(bodyKeys('the dev 2026 12 release; INC 2026 007')).toEqual([]);
  });

  it('when the body mentions more than 10 keys, then the first 10 are kept', () => {
    const text = Array.from({ length: 15 }, (_, i) => `INC-2026-${i + 1}`).join(', ');

    expect(bodyKeys(text)).toEqual(
      Array.from({ length: MAX_BODY_KEYS }, (_, i) => normalizeCaseKey(`INC-2026-${i + 1}`)),
    );
  });

  it('when the body is our quoted mail, then its marker’s key is among the body keys too', () => {
    expect(bodyKeys(`> ${replyMarker('DAT-2026-042', SECRET)}`)).toEqual(['DAT-2026-042']);
  });

  it('when the body is a megabyte of near-keys, then it is scanned in well under a second', () => {
    const text = 'INC-2026- INC 2026 tocsin- Ref: INC-2026-00 · '.repeat(25_000);

    const started = performance.now();
    const c = clues({ text, subject: text.slice(0, 998) });

    expect(performance.now() - started).toBeLessThan(1000);
    expect(c.bodyKeys).toEqual([]);
    expect(c.bodyMarkers).toEqual([]);
  });
});

describe('normalizeCaseKey', () => {
  it('when given a key in a lenient form, then it returns the canonical form; otherwise undefined', () => {
    expect(normalizeCaseKey(' inc 2026 7 ')).toBe('INC-2026-007');
    expect(normalizeCaseKey('INC-2026-0007')).toBe('INC-2026-007');
    expect(normalizeCaseKey('INC-2026-007 and more')).toBeUndefined();
    expect(normalizeCaseKey('INC-2026-0')).toBeUndefined();
  });
});

describe('replySubject', () => {
  it.each([
    ['Freezer broken', 'Re: [INC-2026-007] Freezer broken'],
    ['Re: AW: Fwd: [INC-2026-007] Freezer broken', 'Re: [INC-2026-007] Freezer broken'],
    ['RE: Re[2]: INC 2026 7 - Freezer broken', 'Re: [INC-2026-007] Freezer broken'],
    ['Re: (inc-2026-007) Re: Freezer broken', 'Re: [INC-2026-007] Freezer broken'],
    ['Freezer broken [INC-2026-007]', 'Re: [INC-2026-007] Freezer broken'],
    ['Re: [INC-2026-007] [SUP-2026-003] Freezer broken', 'Re: [INC-2026-007] Freezer broken'],
    ['Meeting on May 2026 15', 'Re: [INC-2026-007] Meeting on May 2026 15'],
  ])('when the subject is "%s", then the reply subject is "%s"', (subject, expected) => {
    expect(replySubject('INC-2026-007', subject)).toBe(expected);
  });

  it('when the subject has line breaks and tabs, then the reply subject is one line', () => {
    expect(replySubject('INC-2026-007', 'Freezer\r\n  broken\tagain')).toBe(
      'Re: [INC-2026-007] Freezer broken again',
    );
  });

  it.each(['', '   ', 'Re:', 'Re: [INC-2026-007]', 'Fwd: RE: INC-2026-007]'])(
    'when nothing is left of "%s", then the reply is about "your report"',
    (subject) => {
      expect(replySubject('INC-2026-007', subject)).toBe('Re: [INC-2026-007] your report');
    },
  );

  it('when the key is given in a lenient form, then the subject has the canonical key', () => {
    expect(replySubject('inc-2026-7', 'Freezer')).toBe('Re: [INC-2026-007] Freezer');
  });

  it('when the reply subject is read back, then its key is the only subject key', () => {
    const subject = replySubject('PHI-2026-031', 'Fwd: suspicious mail [ABU-2026-001] again');

    expect(subject).toBe('Re: [PHI-2026-031] suspicious mail again');
    expect(subjectKeys(`Re: ${subject}`)).toEqual(['PHI-2026-031']);
  });

  it('when the key is not a case key, then it throws', () => {
    expect(() => replySubject('nope', 'Freezer')).toThrow(/not a case key/);
  });
});
