/**
 * Playbook hints as regular expressions. Hints are written by admins and matched against text
 * from strangers, so a hint that could backtrack badly is matched as plain text instead.
 */

/** Longest hint used as a regular expression; longer ones are plain text. */
const HINT_LENGTH = 200;
/** What `*`, `+` and `{n,}` in a hint may repeat at most (beyond n). */
const REPEAT_CAP = 20;
/** Upper bound on the ways one hint may try to match at one position. */
const HINT_COST = 1_000;

/**
 * A hint as a case-insensitive regular expression that matches whole words. A hint that is not a
 * valid regular expression, or that could backtrack badly (a repeated group that itself repeats
 * or alternates, a back-reference, too many combined choices), is matched as plain text instead
 * (`literal: true`). Unbounded repetition is capped at 20 characters.
 */
export function compileHint(hint: string): { re: RegExp; literal: boolean } {
  const source = boundedSource(hint);
  if (source !== undefined) {
    try {
      return { re: wholeWords(source), literal: false };
    } catch {
      // Not valid as a Unicode regular expression: fall through to plain text.
    }
  }
  const literal = hint
    .trim()
    .replace(/\s+/g, ' ')
    .replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return { re: wholeWords(literal), literal: true };
}

const wholeWords = (source: string) => new RegExp(`(?<![\\p{L}\\p{N}])(?:${source})(?![\\p{L}\\p{N}])`, 'iu');

/**
 * The hint with its unbounded repetition capped, or undefined when it is not safe to use as a
 * regular expression. Character classes and escapes are copied as they are. The cost of a hint
 * is how many ways it can try to match at one position: quantifiers multiply it by their range,
 * alternatives add up. A repeated group must be fixed (cost 1) inside, so nothing nests.
 */
function boundedSource(hint: string): string | undefined {
  if (hint.length > HINT_LENGTH || /\\(?:[1-9]|k<)/.test(hint)) return undefined;
  let out = '';
  // Per open group: the costs of its finished alternatives, and of the one being read.
  const groups: { done: number; current: number }[] = [{ done: 0, current: 1 }];
  const top = () => groups[groups.length - 1]!;
  for (let i = 0; i < hint.length;) {
    const c = hint[i]!;
    let cost = 1;
    if (c === '\\') {
      out += hint.slice(i, i + 2);
      i += 2;
    } else if (c === '[') {
      const end = classEnd(hint, i);
      if (end < 0) return undefined;
      out += hint.slice(i, end + 1);
      i = end + 1;
    } else if (c === '(') {
      const prefix = /^\((?:\?(?::|=|!|<=|<!|<[A-Za-z_][A-Za-z0-9_]*>))?/.exec(hint.slice(i, i + 40))![0];
      groups.push({ done: 0, current: 1 });
      out += prefix;
      i += prefix.length;
      continue;
    } else if (c === ')') {
      if (groups.length === 1) return undefined;
      const group = groups.pop()!;
      cost = group.done + group.current;
      const q = quantifier(hint, i + 1);
      if (q && q.max > 1 && cost > 1) return undefined;
      out += c;
      i += 1;
    } else if (c === '|') {
      top().done += top().current;
      top().current = 1;
      out += c;
      i += 1;
      continue;
    } else {
      const q = quantifier(hint, i);
      if (q) {
        cost = q.max - q.min + 1;
        out += q.text;
        i += q.length;
      } else {
        out += c;
        i += 1;
      }
    }
    top().current *= cost;
    if (top().done + top().current > HINT_COST) return undefined;
  }
  return groups.length === 1 ? out : undefined;
}

/** The quantifier at `at` (with its lazy `?`), unbounded ones rewritten with a cap. */
function quantifier(s: string, at: number) {
  const m = /^(?:([*+?])|\{(\d{1,4})(?:(,)(\d{0,4}))?\})\??/.exec(s.slice(at, at + 12));
  if (!m) return undefined;
  const lazy = m[0].endsWith('?') && m[0].length > 1 ? '?' : '';
  let min: number;
  let max: number;
  if (m[1] === '?') [min, max] = [0, 1];
  else if (m[1] === '*') [min, max] = [0, REPEAT_CAP];
  else if (m[1] === '+') [min, max] = [1, REPEAT_CAP];
  else {
    min = Number(m[2]);
    max = m[3] ? (m[4] ? Number(m[4]) : min + REPEAT_CAP) : min;
    if (max < min) return undefined;
  }
  return { min, max, text: `{${min},${max}}${lazy}`, length: m[0].length };
}

function classEnd(s: string, open: number): number {
  let i = open + 1;
  if (s[i] === '^') i++;
  if (s[i] === ']') i++;
  for (; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === ']') return i;
  }
  return -1;
}
