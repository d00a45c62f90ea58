import type { Playbook, PlaybookRule, SeverityId } from './playbook';

/**
 * Suggests a case type and severity for a new report, with the reasons, from the playbook's rules.
 * Pure: the same report and playbook always give the same suggestion.
 */

export interface Report {
  subject: string;
  text: string;
  headers: { name: string; value: string }[];
  attachmentTypes: string[];
}

export interface Suggestion {
  type: string;
  severity: SeverityId;
  reasons: string[];
}

/** Only the start of a long body is searched: reports say what matters early. */
const SEARCHED_TEXT = 20_000;

export type CompiledPlaybook = ReturnType<typeof compilePlaybook>;

export function compilePlaybook(playbook: Playbook) {
  const term = (t: string) => ({
    term: t,
    re: new RegExp(
      `(?<![\\p{L}\\p{N}])${escape(t.toLowerCase()).replace(/\s+/g, '\\s+')}(?![\\p{L}\\p{N}])`,
      'u',
    ),
  });
  return {
    playbook,
    rules: playbook.rules.map((rule) => ({
      rule,
      groups: [...(rule.any ? [rule.any] : []), ...(rule.all ?? [])].map((g) => g.map(term)),
    })),
  };
}

export function suggest(report: Report, compiled: CompiledPlaybook): Suggestion {
  const { playbook } = compiled;
  const haystack = `${report.subject}\n${report.text.slice(0, SEARCHED_TEXT)}`.toLowerCase();

  const matches: { rule: PlaybookRule; terms: string[] }[] = [];
  for (const { rule, groups } of compiled.rules) {
    const terms = ruleMatch(rule, groups, haystack, report.attachmentTypes);
    if (terms) matches.push({ rule, terms });
  }

  const marker = urgentMarker(report, playbook);
  const first = matches[0];
  const type =
    first?.rule.type ?? (marker ? playbook.urgentMarkers.typeWhenNothingElseMatches : playbook.defaultType);
  const severities: SeverityId[] = matches.filter((m) => m.rule.type === type).map((m) => m.rule.severity);
  if (marker) severities.push(playbook.urgentMarkers.severity);
  if (severities.length === 0) severities.push(playbook.types[type]!.defaultSeverity);
  const severity = [...severities].sort()[0]!;

  const reasons = matches.map(
    (m) =>
      `${m.rule.type === type ? '' : `also `}${m.rule.type} ${m.rule.severity} (${m.rule.id}): matched ${m.terms
        .map((t) => `'${t}'`)
        .join(', ')}`,
  );
  if (marker) reasons.push(`urgent marker: ${marker}`);
  if (matches.length === 0 && !marker) reasons.push(`no rule matched: default type ${type}`);
  return { type, severity, reasons };
}

function ruleMatch(
  rule: PlaybookRule,
  groups: { term: string; re: RegExp }[][],
  haystack: string,
  attachmentTypes: string[],
): string[] | undefined {
  if (rule.attachmentTypes) {
    const hit = attachmentTypes.find((t) => rule.attachmentTypes!.includes(t.toLowerCase()));
    return hit ? [`attachment ${hit}`] : undefined;
  }
  const found: string[] = [];
  for (const group of groups) {
    const hits = group.filter((t) => t.re.test(haystack)).map((t) => t.term);
    if (hits.length === 0) return undefined;
    found.push(...hits);
  }
  return found;
}

/**
 * Bracketed markers ("[URGENT]") count anywhere in the subject; word markers ("urgent:") only at
 * its start, after any Re:/Fwd: prefixes, so "Not urgent: a typo" is not urgent.
 */
function urgentMarker(report: Report, playbook: Playbook): string | undefined {
  const subject = report.subject.toLowerCase();
  const start = subject.replace(/^(\s*(re|fwd?|aw|wg|sv|vs|rv|tr|antw)\s*(\[\d+\])?\s*:)+/, '').trimStart();
  const inSubject = playbook.urgentMarkers.subject.find((marker) => {
    const m = marker.toLowerCase();
    return m.startsWith('[') ? subject.includes(m) : start.startsWith(m);
  });
  if (inSubject) return `subject contains '${inSubject}'`;
  for (const h of report.headers) {
    const name = h.name.toLowerCase();
    const value = h.value.trim().toLowerCase();
    const hit = playbook.urgentMarkers.headers.find(
      (m) => m.name.toLowerCase() === name && m.value.toLowerCase() === value,
    );
    if (hit) return `${h.name}: ${h.value.trim()}`;
  }
  return undefined;
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
