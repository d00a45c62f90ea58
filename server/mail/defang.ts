/**
 * Defanging, for display (CyberChef's convention): "http" becomes "hxxp" ("https" "hxxps", "ftp"
 * "fxp"), every dot of a host name, domain or IPv4 address becomes "[.]", the "@" of an address
 * "[@]", and the colons of an IPv6 address "[:]". The path and query of a URL are left as they are.
 * Defanging is idempotent, and refang() undoes it along with the other forms reporters use
 * ("hXXp", "[dot]", "(.)", "[at]", "[://]"), so pasted-in defanged indicators match real ones.
 */
import { isIPv6 } from 'node:net';

/** Undoes common defanging ("hxxps[://]evil[.]example", "user[at]evil(.)example"). */
export function refang(text: string): string {
  return text
    .replace(/\[:\/\/\]/g, '://')
    .replace(/\[:\]/g, ':')
    .replace(/\[\/\]/g, '/')
    .replace(/\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\)|\{dot\}/gi, '.')
    .replace(/\[@\]|\(@\)|\{@\}|\[at\]|\(at\)/gi, '@')
    .replace(/\bh(?:xx|\*\*|x\*|\*x|tx|xt)p(s?):\/\//gi, 'http$1://')
    .replace(/\bfxp:\/\//gi, 'ftp://');
}

/** A word of text, as defang() takes it: a URL, an address, a host name, or no indicator at all. */
const WORD = /[^\s<>()"',;]+/g;

/**
 * Makes a value (or every URL, address, host name and IPv4 address in a short text such as a
 * subject) safe to show: no viewer will turn it into a link. See the module comment for the scheme.
 * Meant for values of a few kilobytes at most, as extractIndicators() gives it.
 */
export function defang(value: string): string {
  if (isIPv6(value)) return value.replace(/(?<!\[):(?!\])/g, '[:]');
  return value.replace(WORD, (word) => {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(word)?.[1];
    if (scheme) {
      const rest = word.slice(scheme.length + 3);
      const end = authorityEnd(rest);
      const fanged = scheme.replace(/^http/i, 'hxxp').replace(/^ftp$/i, 'fxp');
      return `${fanged}://${dots(rest.slice(0, end).replace(/(?<!\[)@(?!\])/g, '[@]'))}${rest.slice(end)}`;
    }
    const at = word.lastIndexOf('@');
    if (at > 0 && word[at - 1] !== '[') return `${word.slice(0, at)}[@]${dots(word.slice(at + 1))}`;
    // A host name, maybe followed by a path or a full stop: "evil.example/login", "evil.example."
    const end = authorityEnd(word);
    let host = word.slice(0, end);
    while (host.endsWith('.')) host = host.slice(0, -1);
    const labels = host.split(/\[\.\]|\./);
    const isIp = labels.length === 4 && labels.every((l) => /^\d{1,3}$/.test(l));
    const isName =
      labels.length > 1 && labels.every((l) => /^[a-z0-9-]+$/i.test(l)) && /^[a-z]/i.test(labels.at(-1)!);
    return isIp || isName ? dots(host) + word.slice(host.length) : word;
  });
}

/** Where the host of a URL (or of a scheme-less "host/path") ends. */
function authorityEnd(s: string): number {
  const i = s.search(/[/?#]/);
  return i === -1 ? s.length : i;
}

const dots = (s: string) => s.replace(/(?<!\[)\.(?!\])/g, '[.]');
