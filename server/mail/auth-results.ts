import { cleanText } from '../lib/text';

/** Authentication-Results (RFC 8601), read leniently: hostile headers are skipped, never thrown on. */

/** Headers past this are cut before parsing; real ones are a few hundred bytes. */
const MAX_AR_LENGTH = 64 * 1024;

/** One method result of an A-R header, e.g. dkim=pass header.d=example.org. */
export interface AuthResult {
  method: string;
  result: string;
  reason?: string;
  props: Map<string, string>;
}

export interface ParsedAuthResults {
  /** Empty when the header starts with a result instead of an authserv-id. */
  authservId: string;
  results: AuthResult[];
}

/**
 * Parses an Authentication-Results value (RFC 8601): authserv-id [version] then `;`-separated
 * resinfo, each `method[/version]=result [reason=value] [ptype.property=value …]`. Comments (nested,
 * with quoted-pairs) are dropped, quoted strings unquoted. Lenient: what it cannot read it skips.
 */
export function parseAuthResults(value: string): ParsedAuthResults {
  const [head = [], ...rest] = lex(cleanText(value.slice(0, MAX_AR_LENGTH)));
  // Exchange Online writes no authserv-id: its header starts with "spf=…".
  const anonymous = head[1] === '=';
  const results: AuthResult[] = [];
  for (const words of anonymous ? [head, ...rest] : rest) {
    const r = resinfo(words);
    if (r) results.push(r);
  }
  return { authservId: anonymous ? '' : (head[0] ?? '').toLowerCase(), results };
}

/** Splits into `;` sections of words; `=` is a word of its own; comments and white space separate. */
function lex(value: string): string[][] {
  const sections: string[][] = [[]];
  let word: string | undefined;
  const push = (w: string) => sections[sections.length - 1]?.push(w);
  const end = () => {
    if (word !== undefined) push(word);
    word = undefined;
  };
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (c === '(') {
      end();
      i = skipComment(value, i);
    } else if (c === '"') {
      let s = '';
      for (i++; i < value.length && value.charAt(i) !== '"'; i++)
        s += value.charAt(value.charAt(i) === '\\' ? ++i : i);
      word = (word ?? '') + s;
    } else if (c === ';') {
      end();
      sections.push([]);
    } else if (c === '=') {
      end();
      push('=');
    } else if (/\s/.test(c)) end();
    else word = (word ?? '') + c;
  }
  end();
  return sections;
}

/** Index of the `)` closing the comment opened at `start`, or the end of the value. */
function skipComment(value: string, start: number): number {
  let depth = 0;
  for (let i = start; i < value.length; i++) {
    const c = value.charAt(i);
    if (c === '\\') i++;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return value.length;
}

function resinfo(words: string[]): AuthResult | undefined {
  const [method, eq, result] = words;
  if (!method || eq !== '=' || !result || result === '=') return undefined;
  const r: AuthResult = {
    method: (method.split('/')[0] ?? '').toLowerCase(),
    result: result.toLowerCase(),
    props: new Map(),
  };
  for (let i = 3; i < words.length; i++) {
    const key = words[i] ?? '';
    if (key === '=' || words[i + 1] !== '=') continue;
    const next = words[i + 2];
    const v = next === undefined || next === '=' ? '' : next;
    i += v ? 2 : 1;
    if (key.toLowerCase() === 'reason') r.reason ??= v;
    else if (!r.props.has(key.toLowerCase())) r.props.set(key.toLowerCase(), v);
  }
  return r;
}

/** The ASCII, lower-case domain of an address or domain; '' when it is not a valid domain. */
