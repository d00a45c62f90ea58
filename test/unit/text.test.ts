import { cleanText } from '../../server/lib/text';

const MARKER = '\n[… truncated by Tocsin]';

describe('cleanText', () => {
  it('when the value is undefined, null or empty, then the result is an empty string', () => {
    expect(cleanText(undefined)).toBe('');
    expect(cleanText(null)).toBe('');
    expect(cleanText('')).toBe('');
  });

  it('when the value contains NUL characters, then they are removed', () => {
    const cleaned = cleanText('a\u0000b\u0000\u0000c\u0000');

    expect(cleaned).toBe('abc');
  });

  it('when the value has a lone high or low surrogate, then it becomes U+FFFD and the string is well-formed', () => {
    const cleaned = cleanText('x\uD800y\uDC00z');

    expect(cleaned).toBe('x\uFFFDy\uFFFDz');
    expect(cleaned.isWellFormed()).toBe(true);
  });

  it('when the value has a proper surrogate pair, then it is kept', () => {
    const cleaned = cleanText('alarm 🚨 bell');

    expect(cleaned).toBe('alarm 🚨 bell');
  });

  it('when the value is longer than maxLength, then it is cut at maxLength and the marker is added', () => {
    const cleaned = cleanText('abcdef', 3);

    expect(cleaned).toBe(`abc${MARKER}`);
  });

  it('when the value is exactly maxLength long, then it is not truncated', () => {
    const cleaned = cleanText('abc', 3);

    expect(cleaned).toBe('abc');
  });

  it('when the cut falls inside a surrogate pair, then the half character becomes U+FFFD and the result is well-formed', () => {
    const cleaned = cleanText('ab🚨cd', 3);

    expect(cleaned).toBe(`ab\uFFFD${MARKER}`);
    expect(cleaned.isWellFormed()).toBe(true);
  });

  it('when NULs are removed, then the length limit applies to the cleaned text', () => {
    const cleaned = cleanText('a\u0000\u0000bc', 3);

    expect(cleaned).toBe('abc');
  });

  it('when no maxLength is given, then a long value is kept whole', () => {
    const long = 'x'.repeat(100_000);

    const cleaned = cleanText(long);

    expect(cleaned).toBe(long);
  });
});
