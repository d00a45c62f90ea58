/** Subjects as mail clients write them: the reply and forward prefixes of many languages. Pure. */

/** Reply and forward prefixes in the languages our mail clients speak, with counters (Re[2]:). */
const PREFIX_WORDS = [
  're',
  'aw',
  'rv',
  'r',
  'res',
  'fwd',
  'fw',
  'wg',
  'tr',
  'sv',
  'vs',
  'vb',
  'antw',
  'antwort',
  'réf',
  'ref',
  'rif',
  'enc',
  'odp',
  'pd',
  'ynt',
  'ilt',
  '回复',
  '回覆',
  '答复',
  '转发',
  '轉寄',
  '返信',
  '転送',
];
const SUBJECT_PREFIX = new RegExp(
  `^\\s*(?:(?:${PREFIX_WORDS.join('|')})\\.?\\s*(?:[[(]\\d{1,4}[\\])])?\\s*[:：]|réf\\.(?=\\s))\\s*`,
  'iu',
);

/** The subject without its leading reply and forward prefixes (`Re: AW: Fwd: x` gives `x`). */
export function stripSubjectPrefixes(subject: string): string {
  let s = subject;
  for (let i = 0; i < 50; i++) {
    const next = s.replace(SUBJECT_PREFIX, '');
    if (next === s) break;
    s = next;
  }
  return s.trim();
}
