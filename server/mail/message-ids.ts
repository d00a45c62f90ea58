import { randomBytes } from 'node:crypto';

/**
 * Message-IDs: reading them out of header values, and the ones we make for mail about a case
 * (unguessable, so a reply that names one proves it answers our mail). Pure, but for the clock and
 * the random part of new ids.
 */

/**
 * Message-IDs in a header value, as `<id>`: bracketed tokens (whitespace inside dropped, as
 * folding leaves it), or the whole value when bare. Ids with control characters or stray angle
 * brackets are dropped, so that an id is always safe to write back into a header.
 */
export function messageIdsIn(value: string | undefined): string[] {
  if (!value) return [];
  const bracketed = [...value.matchAll(/<([^<>]*)>/g)].map((m) => m[1]!.replace(/\s+/g, ''));
  const ids = bracketed.length ? bracketed : [value.trim()];
  return ids
    .filter((id) => id.length > 0 && id.length <= 996 && !/[\p{Cc}\s<>]/u.test(id))
    .map((id) => `<${id}>`);
}

function checkedDomain(domain: string): string {
  const d = domain.trim().toLowerCase();
  if (!/^[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/.test(d)) throw new Error(`not a mail domain: ${domain}`);
  return d;
}

function idKey(caseKey: string): string {
  const k = caseKey.trim().toLowerCase();
  if (!/^[a-z]{2,6}-20\d\d-\d{3,6}$/.test(k)) throw new Error(`not a case key: ${caseKey}`);
  return k;
}

/** A fresh Message-ID for mail about a case: `<tocsin.inc-2026-007.<time>.<random>@domain>`. */
export function newMessageId(domain: string, caseKey: string, now: Date = new Date()): string {
  const time = Math.max(0, now.getTime()).toString(36);
  return `<tocsin.${idKey(caseKey)}.${time}.${randomBytes(8).toString('hex')}@${checkedDomain(domain)}>`;
}

/** The case's pseudo-reference `<inc-2026-007.case@domain>`: no mail has it, every mail refers to it. */
export function caseReference(domain: string, caseKey: string): string {
  return `<${idKey(caseKey)}.case@${checkedDomain(domain)}>`;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The case key in one of our ids (a Message-ID we made or a case reference), upper case. */
export function ourMessageIdCaseKey(id: string, domain: string): string | undefined {
  const d = escapeRegExp(domain.trim());
  const m = new RegExp(
    `^<?(?:tocsin\\.([a-z]{2,6}-20\\d\\d-\\d{3,6})\\.[0-9a-z]{1,13}\\.[0-9a-f]{16}|([a-z]{2,6}-20\\d\\d-\\d{3,6})\\.case)@${d}>?$`,
    'i',
  ).exec(id.trim());
  return m ? (m[1] ?? m[2])!.toUpperCase() : undefined;
}

/** True for a Message-ID newMessageId made, and for a case reference, at this domain. */
export const isOurMessageId = (id: string, domain: string): boolean =>
  ourMessageIdCaseKey(id, domain) !== undefined;
