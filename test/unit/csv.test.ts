import { csvCell, csvRow } from '../../server/cases/csv';

describe('csvCell', () => {
  it.each([
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['+1+2', "'+1+2"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tcmd', "'\tcmd"],
    ['\r=1', `"'\r=1"`],
  ])('when a cell starts like a formula (%j), then it is made text: %j', (value, expected) => {
    expect(csvCell(value)).toBe(expected);
  });

  it('when a cell holds a comma, a quote or a line break, then it is quoted with quotes doubled', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('two\nlines')).toBe('"two\nlines"');
  });

  it('when a cell is plain, empty, a number or a date, then it is written as it is', () => {
    expect(csvCell('INC-2026-007')).toBe('INC-2026-007');
    expect(csvCell(undefined)).toBe('');
    expect(csvCell(3)).toBe('3');
    expect(csvCell(new Date('2026-04-24T10:00:00Z'))).toBe('2026-04-24T10:00:00.000Z');
  });
});

describe('csvRow', () => {
  it('when cells are joined, then commas separate them and CRLF ends the row', () => {
    expect(csvRow(['a', '=b', 'c,d'])).toBe(`a,'=b,"c,d"\r\n`);
  });
});
