/**
 * Makes an email's HTML safe to show inside the PWA. Mail HTML is hostile input written to run
 * script, load tracking pixels, or draw a fake login form over our page, so this is an allowlist,
 * never a blocklist: text formatting, lists, tables, links and inline images survive; every other
 * element, every attribute not listed, and every URL whose scheme is not allowed is dropped.
 *
 * - Links keep only absolute http, https and mailto URLs, and always open in a new browsing
 *   context without an opener or a referrer.
 * - Images stay only when they are part of the message (cid:) or a data: URL of a raster type.
 *   Remote images (http, https, protocol-relative) are tracking beacons: they are removed and
 *   counted, so the page can say "n remote images blocked".
 * - Styles: only a few properties, with values that cannot hold a URL, a function (but rgb()),
 *   an escape or a quote; never url(), expression() or position.
 * - No id, name or class: the PWA's own DOM must not be clobbered or restyled by a sender.
 *
 * Our own checks run first and say what they removed; sanitize-html then enforces the same
 * allowlists again as a second layer.
 */
import sanitizeHtml from 'sanitize-html';

export interface SanitizedHtml {
  html: string;
  /** Remote images removed (tracking beacons), counted per image. */
  blockedImages: number;
  /**
   * What was removed, sorted and distinct, at most MAX_REMOVED: `<iframe>` for an element,
   * `img[onerror]` for an attribute, `a[href=javascript:]` for a URL, `p[style]` for a style cut down.
   */
  removed: string[];
}

export const MAX_REMOVED = 100;

const TAGS = [
  ...['p', 'div', 'span', 'br', 'hr', 'blockquote', 'pre', 'code', 'center', 'address'],
  ...['h1', 'h2', 'h3', 'h4', 'h5', 'h6'],
  ...['b', 'strong', 'i', 'em', 'u', 's', 'strike', 'del', 'ins', 'mark', 'small', 'big', 'sub', 'sup'],
  ...['abbr', 'cite', 'dfn', 'kbd', 'q', 'samp', 'tt', 'var', 'bdi', 'bdo', 'wbr', 'font'],
  ...['ul', 'ol', 'li', 'dl', 'dt', 'dd'],
  ...['table', 'caption', 'colgroup', 'col', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td'],
  ...['figure', 'figcaption', 'a', 'img'],
];

const CELL = ['align', 'valign', 'width', 'height', 'colspan', 'rowspan', 'bgcolor'];
const ATTRIBUTES: Record<string, string[]> = {
  '*': ['dir', 'lang', 'title', 'align', 'style'],
  a: ['href', 'target', 'rel'],
  img: ['src', 'alt', 'width', 'height'],
  table: ['width', 'border', 'cellpadding', 'cellspacing', 'bgcolor'],
  tr: ['valign', 'bgcolor'],
  td: CELL,
  th: [...CELL, 'scope'],
  col: ['span', 'width'],
  colgroup: ['span', 'width'],
  ol: ['start', 'type'],
  ul: ['type'],
  li: ['value'],
  font: ['color', 'face', 'size'],
};

/** Elements whose content goes with them: code, CSS, form values, titles, or fallback markup. */
const DROP_WITH_CONTENT = [
  ...['script', 'style', 'textarea', 'option', 'select', 'xmp', 'title'],
  ...['iframe', 'noembed', 'noframes', 'noscript', 'template', 'svg', 'math', 'object'],
];

/** Removing these is routine for every HTML email; listing them would only be noise. */
const UNREMARKABLE = new Set(['html', 'head', 'body']);

const ONE_LENGTH = String.raw`(?:0|\d{1,4}(?:\.\d{1,3})?(?:px|pt|em|rem|%))`;
const LENGTH = new RegExp(`^${ONE_LENGTH}$`, 'i');
/** One to four lengths, as padding and margin take them. */
const LENGTHS = new RegExp(`^${ONE_LENGTH}(?:\\s+${ONE_LENGTH}){0,3}$`, 'i');
const COLOR =
  /^(?:#[0-9a-f]{3,8}|[a-z]{3,20}|rgba?\(\s*\d{1,3}%?\s*,\s*\d{1,3}%?\s*,\s*\d{1,3}%?\s*(?:,\s*(?:0|1|0?\.\d{1,3})\s*)?\))$/i;

/**
 * CSS properties allowed in a style attribute, each with the whole value it may take. No value
 * can contain "(" (but in the exact rgb()/rgba() form), a backslash, ";" or ":", and only a font family
 * can be quoted: so no url(), expression(), escape or comment can get through.
 */
const STYLES: Record<string, RegExp[]> = {
  color: [COLOR],
  'background-color': [COLOR],
  'font-family': [/^[a-z0-9 ,'"-]{1,100}$/i],
  'font-size': [LENGTH, /^(?:xx-small|x-small|small|medium|large|x-large|xx-large|smaller|larger)$/i],
  'font-style': [/^(?:normal|italic|oblique)$/i],
  'font-weight': [/^(?:normal|bold|bolder|lighter|[1-9]00)$/i],
  'line-height': [LENGTH, /^(?:normal|\d(?:\.\d{1,2})?)$/i],
  'text-align': [/^(?:left|right|center|justify|start|end)$/i],
  'text-decoration': [/^(?:none|underline|line-through|overline)$/i],
  'vertical-align': [/^(?:baseline|top|middle|bottom|text-top|text-bottom|sub|super)$/i],
  'white-space': [/^(?:normal|nowrap|pre|pre-wrap|pre-line)$/i],
  width: [LENGTH, /^auto$/i],
  'max-width': [LENGTH, /^none$/i],
  padding: [LENGTHS],
  margin: [LENGTHS],
  'border-collapse': [/^(?:collapse|separate)$/i],
};

const LINK_SCHEMES = ['http', 'https', 'mailto'];
const INLINE_IMAGE = /^(?:cid:|data:image\/(?:png|gif|jpe?g|webp)[;,])/i;
const REMOTE = /^(?:https?:|\/\/)/i;
const REL = 'noopener noreferrer nofollow';
/**
 * How an image without a source comes out of sanitize-html, which escapes every "<" of text and
 * attribute values: so this string in the output is always such an image, and removing it is
 * exact. (Its exclusiveFilter would drop it too, but in time quadratic in the size of the output,
 * and renaming the tag to a disallowed one breaks the end tag of the next element.)
 */
const DROPPED_IMAGE = '<img />';

export interface SanitizeOptions {
  /** Keep remote images (the member asked to load them for this message); off by default. */
  remoteImages?: boolean;
}

export function sanitizeEmailHtml(html: string, opts: SanitizeOptions = {}): SanitizedHtml {
  let blockedImages = 0;
  const seen = new Set<string>();
  const removed = { add: (what: string) => seen.size < MAX_REMOVED && seen.add(what) };

  const check = (tag: string, input: sanitizeHtml.Attributes): sanitizeHtml.Tag => {
    // A remote background image (<body background>, <td background>) is a beacon like any <img>.
    if (input.background !== undefined && REMOTE.test(browserUrl(input.background)) && !opts.remoteImages) {
      blockedImages++;
      delete input.background;
    }
    if (!TAGS.includes(tag)) {
      if (!UNREMARKABLE.has(tag)) removed.add(`<${printable(tag)}>`);
      return { tagName: tag, attribs: {} };
    }
    const allowed = [...(ATTRIBUTES['*'] ?? []), ...(ATTRIBUTES[tag] ?? [])];
    const attribs: sanitizeHtml.Attributes = {};
    for (const [name, value] of Object.entries(input)) {
      if (allowed.includes(name)) attribs[name] = value;
      else removed.add(`${tag}[${printable(name)}]`);
    }

    if (attribs.style !== undefined) {
      const { kept, dropped } = filterStyle(attribs.style);
      if (kept) attribs.style = kept;
      else delete attribs.style;
      if (dropped) removed.add(`${tag}[style]`);
    }

    if (tag === 'a') {
      delete attribs.target;
      delete attribs.rel;
      if (attribs.href !== undefined) {
        const href = browserUrl(attribs.href);
        const scheme = schemeOf(href);
        if (scheme && LINK_SCHEMES.includes(scheme)) {
          attribs.href = href;
          attribs.target = '_blank';
          attribs.rel = REL;
        } else {
          delete attribs.href;
          removed.add(`a[href=${scheme ? `${scheme}:` : 'relative'}]`);
        }
      }
    }

    if (tag === 'img') {
      const src = browserUrl(attribs.src ?? '');
      if (INLINE_IMAGE.test(src) || (opts.remoteImages && /^https?:/i.test(src))) attribs.src = src;
      else {
        if (REMOTE.test(src)) blockedImages++;
        else removed.add(`img[src=${schemeOf(src) ? `${schemeOf(src)}:` : src ? 'relative' : 'none'}]`);
        // An image whose source went (a beacon, a javascript: URL) goes whole; see DROPPED_IMAGE.
        return { tagName: 'img', attribs: {} };
      }
    }
    return { tagName: tag, attribs };
  };

  const out = sanitizeHtml(html, {
    allowedTags: TAGS,
    allowedAttributes: ATTRIBUTES,
    allowedStyles: { '*': STYLES },
    parseStyleAttributes: true,
    allowedSchemes: LINK_SCHEMES,
    allowedSchemesByTag: { img: opts.remoteImages ? ['cid', 'data', 'http', 'https'] : ['cid', 'data'] },
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    nonTextTags: DROP_WITH_CONTENT,
    transformTags: { '*': check },
  });
  return { html: out.replaceAll(DROPPED_IMAGE, ''), blockedImages, removed: [...seen].sort() };
}

/** What a browser does to an attribute URL before reading its scheme: trim, drop tabs and newlines. */
function browserUrl(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && value.charCodeAt(start) <= 0x20) start++;
  while (end > start && value.charCodeAt(end - 1) <= 0x20) end--;
  return value.slice(start, end).replace(/[\t\n\r]/g, '');
}

/**
 * The scheme of a URL in lower case, or '' for a relative URL. Characters no scheme may contain
 * (a zero-width space, an entity left over) make it relative, as they do for a browser.
 */
function schemeOf(url: string): string {
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase() ?? '';
}

/** Keeps the declarations of a style attribute that the allowlist accepts, in order. */
function filterStyle(style: string): { kept: string; dropped: boolean } {
  const kept: string[] = [];
  let dropped = false;
  for (const declaration of style.split(';')) {
    if (!declaration.trim()) continue;
    const colon = declaration.indexOf(':');
    const property = declaration.slice(0, colon).trim().toLowerCase();
    let value = declaration.slice(colon + 1).trim();
    if (value.toLowerCase().endsWith('!important')) value = value.slice(0, -'!important'.length).trim();
    const rules = colon > 0 && Object.hasOwn(STYLES, property) ? STYLES[property] : undefined;
    if (rules?.some((re) => re.test(value))) kept.push(`${property}:${value}`);
    else dropped = true;
  }
  return { kept: kept.join(';'), dropped };
}

/** A tag or attribute name as it may appear in `removed`: short, and nothing but name characters. */
const printable = (name: string) => name.replace(/[^\w:-]/g, '?').slice(0, 40);
