/**
 * CSV as RFC 4180 writes it (CRLF line ends; a field with a comma, a quote or a line break is
 * quoted, quotes doubled), made safe to open in a spreadsheet: a cell that starts with `=`, `+`,
 * `-`, `@`, a tab or a carriage return would be read as a formula (OWASP "CSV injection"), so it
 * gets a leading apostrophe and stays text. Case data comes from strangers' mail.
 */

const FORMULA_START = /^[=+\-@\t\r]/;

export function csvCell(value: unknown): string {
  let s =
    value === undefined || value === null ? '' : value instanceof Date ? value.toISOString() : String(value);
  if (FORMULA_START.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(values: unknown[]): string {
  return values.map(csvCell).join(',') + '\r\n';
}
