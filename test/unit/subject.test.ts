import { stripSubjectPrefixes } from '../../server/mail/subject';

describe('stripSubjectPrefixes', () => {
  it.each([
    ['Re: Freezer broken', 'Freezer broken'],
    ['RE: re: Re: Freezer broken', 'Freezer broken'],
    ['AW: WG: Freezer broken', 'Freezer broken'],
    ['Fwd: FW: Fw: Freezer broken', 'Freezer broken'],
    ['RV: TR: SV: VS: Freezer broken', 'Freezer broken'],
    ['Antw: Antwort: Freezer broken', 'Freezer broken'],
    ['Réf. : Freezer broken', 'Freezer broken'],
    ['Réf. Freezer broken', 'Freezer broken'],
    ['RE : Freezer broken', 'Freezer broken'],
    ['Re[2]: Re(3): Freezer broken', 'Freezer broken'],
    ['回复：转发: Freezer broken', 'Freezer broken'],
    ['  Re:Freezer broken  ', 'Freezer broken'],
    ['Re: [INC-2026-007] Re: Freezer', '[INC-2026-007] Re: Freezer'],
  ])('when the subject is "%s", then it is "%s"', (subject, expected) => {
    expect(stripSubjectPrefixes(subject)).toBe(expected);
  });

  it.each(['Resolution of the freezer', 'Trouble: freezer', 'Rest: none', 'Fwdx: hi', 'Re freezer'])(
    'when "%s" only starts like a prefix, then it is kept whole',
    (subject) => {
      expect(stripSubjectPrefixes(subject)).toBe(subject);
    },
  );

  it('when the subject is only prefixes, then it is empty', () => {
    expect(stripSubjectPrefixes('Re: Fwd: ')).toBe('');
  });
});
