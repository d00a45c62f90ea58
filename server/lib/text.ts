/**
 * Text we store must be valid Unicode without NUL (FerretDB and MongoDB drivers disagree on NUL,
 * and a lone surrogate is not UTF-8). The raw message keeps every original byte.
 */
export function cleanText(value: string | undefined | null, maxLength = Infinity): string {
  if (!value) return '';
  // eslint-disable-next-line no-control-regex
  let s = value.replace(/\u0000/g, '').toWellFormed();
  if (s.length > maxLength) s = s.slice(0, maxLength).toWellFormed() + '\n[… truncated by Tocsin]';
  return s;
}
