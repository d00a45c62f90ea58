import sanitizeHtml from 'sanitize-html';
import { MAX_REMOVED, sanitizeEmailHtml } from '../../server/mail/sanitize';

/** Every element of some HTML with its attributes, as a real HTML parser (htmlparser2) reads it. */
function elements(html: string): { tag: string; attribs: Record<string, string> }[] {
  const found: { tag: string; attribs: Record<string, string> }[] = [];
  sanitizeHtml(html, {
    allowedTags: [],
    allowedAttributes: {},
    onOpenTag: (tag, attribs) => found.push({ tag, attribs: { ...attribs } }),
  });
  return found;
}

/** Markup that can run script, load something, or submit something; none may survive. */
const DANGEROUS = [
  /<\s*\/?\s*(script|style|iframe|frame|object|embed|svg|math|form|input|button|base|meta|link|textarea)\b/i,
  /\son[a-z]+\s*=/i,
  /javascript\s*:/i,
  /vbscript\s*:/i,
  /data\s*:\s*text/i,
  /data:image\/svg/i,
  /srcdoc|xlink:|formaction|http-equiv/i,
  /url\s*\(|expression\s*\(|@import/i,
];

const ALLOWED_ATTRIBUTES = new Set(
  ['dir', 'lang', 'title', 'align', 'style', 'href', 'target', 'rel', 'src', 'alt'].concat(
    ['width', 'height', 'border', 'cellpadding', 'cellspacing', 'bgcolor', 'valign'],
    ['colspan', 'rowspan', 'scope', 'span', 'start', 'type', 'value', 'color', 'face', 'size'],
  ),
);

/** What the sanitizer's output must never hold, read from the output itself. */
function expectSafe(html: string): void {
  for (const re of DANGEROUS) expect(html).not.toMatch(re);
  for (const { tag, attribs } of elements(html)) {
    for (const name of Object.keys(attribs)) expect(ALLOWED_ATTRIBUTES).toContain(name);
    if (attribs.href !== undefined) expect(attribs.href).toMatch(/^(https?|mailto):/i);
    if (tag === 'a' && attribs.href !== undefined) expect(attribs.rel).toBe('noopener noreferrer nofollow');
    if (attribs.src !== undefined)
      expect(attribs.src).toMatch(/^(cid:|data:image\/(png|gif|jpe?g|webp)[;,])/i);
  }
}

/** XSS vectors after the OWASP filter evasion cheat sheet, and the mXSS classics. */
const VECTORS: [name: string, html: string][] = [
  ['img onerror', '<img src=x onerror=alert(1)>'],
  ['img onerror with a cid: source', '<img src="cid:logo" onerror="alert(1)">'],
  ['svg onload', '<svg onload=alert(1)><text>hi</text></svg>'],
  ['svg script', '<svg><script>alert(1)</script></svg>'],
  ['svg a xlink:href', '<svg><a xlink:href="javascript:alert(1)"><text>t</text></a></svg>'],
  ['a javascript:', '<a href="javascript:alert(1)">x</a>'],
  ['a javascript: in mixed case with a leading space', '<a href=" JaVaScRiPt:alert(1)">x</a>'],
  ['a &#106;avascript:', '<a href="&#106;avascript:alert(1)">x</a>'],
  [
    'a fully entity-encoded javascript:',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
  ],
  [
    'a decimal entities without semicolons',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
  ],
  ['a jav&#x09;ascript: (embedded tab)', '<a href="jav&#x09;ascript:alert(1)">x</a>'],
  ['a jav&#x0A;ascript: (embedded newline)', '<a href="jav&#x0A;ascript:alert(1)">x</a>'],
  ['a with a zero-width space in the scheme', '<a href="java\u200bscript:alert(1)">x</a>'],
  ['a vbscript:', '<a href="vbscript:msgbox(1)">x</a>'],
  ['a data:text/html', '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>'],
  ['img data:image/svg+xml', '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">'],
  ['iframe srcdoc', '<iframe srcdoc="<script>alert(1)</script>"></iframe>'],
  ['iframe src javascript:', '<iframe src="javascript:alert(1)"></iframe>'],
  ['math mi xlink:href', '<math><mi xlink:href="javascript:alert(1)">click</mi></math>'],
  ['mXSS math/mglyph/style', '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>'],
  ['mXSS noscript title', '<noscript><p title="</noscript><img src=x onerror=alert(1)>">'],
  ['style @import', '<style>@import "http://evil.example/x.css";</style>'],
  ['style with an expression', '<style>body { width: expression(alert(1)) }</style>'],
  ['style attribute url(javascript:)', '<div style="background:url(javascript:alert(1))">s</div>'],
  ['style attribute expression()', '<div style="width: expression(alert(1))">s</div>'],
  ['style attribute with escapes', '<div style="background:u\\72l(javascript:alert(1))">s</div>'],
  ['style attribute with a comment', '<div style="color:red;/**/background:url(x)">s</div>'],
  ['meta refresh', '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">'],
  ['base href', '<base href="javascript:alert(1)//">'],
  ['link stylesheet', '<link rel="stylesheet" href="http://evil.example/x.css">'],
  ['form action', '<form action="javascript:alert(1)"><input type="submit"></form>'],
  ['button formaction', '<form><button formaction="javascript:alert(1)">go</button></form>'],
  ['input autofocus onfocus', '<input autofocus onfocus=alert(1)>'],
  ['object data', '<object data="javascript:alert(1)"></object>'],
  ['embed src', '<embed src="data:text/html,<script>alert(1)</script>">'],
  ['script in a comment', '<!--<script>alert(1)</script>-->'],
  ['conditional comment', '<!--[if gte IE 4]><script>alert(1)</script><![endif]-->'],
  ['CDATA', '<![CDATA[<script>alert(1)</script>]]>'],
  ['split script tag', '<scr<script>ipt>alert(1)</scr</script>ipt>'],
  ['doubled brackets', '<<script>script>alert(1)<</script>/script>'],
  ['script with a slash', '<script/xss src="http://evil.example/x.js"></script>'],
  ['body onload', '<body onload=alert(1)>'],
  ['table background javascript:', '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>'],
  ['td with an event handler', '<table><tr><td onmouseover="alert(1)">x</td></tr></table>'],
  ['attribute breaking out of quotes', '<p title="&quot;><script>alert(1)</script>">x</p>'],
  ['a with target and rel of its own', '<a href="https://example.org" target="_self" rel="opener">x</a>'],
  ['textarea breakout', '<textarea></textarea><script>alert(1)</script></textarea>'],
  ['details ontoggle', '<details open ontoggle=alert(1)>'],
  ['video poster', '<video poster="javascript:alert(1)"></video>'],
  ['template', '<template><img src=x onerror=alert(1)></template>'],
];

describe('sanitizeEmailHtml: hostile HTML', () => {
  it.each(VECTORS)(
    'when the HTML is %s, then nothing dangerous survives and the text before it stays',
    (_name, html) => {
      const out = sanitizeEmailHtml(`<p>before</p>${html}`).html;

      expectSafe(out);
      expect(out.startsWith('<p>before</p>')).toBe(true);
    },
  );

  it.each(VECTORS)('when the output of %s is sanitized again, then it does not change', (_name, html) => {
    const once = sanitizeEmailHtml(html).html;

    expect(sanitizeEmailHtml(once)).toEqual({ html: once, blockedImages: 0, removed: [] });
  });

  it('when every vector comes in one message, each breaking the markup of the next, then nothing dangerous survives', () => {
    const html = VECTORS.map(([, v]) => `<p>before</p>${v}<p>after</p>`).join('');

    const out = sanitizeEmailHtml(html).html;

    expectSafe(out);
    expect(out.startsWith('<p>before</p>')).toBe(true);
  });

  it('when an element whose content goes with it is left open, then the rest of the message goes too', () => {
    expect(sanitizeEmailHtml('<p>kept</p><svg><p>inside</p><p>after</p>').html).toBe('<p>kept</p>');
  });

  it('when text spells out a script tag, then it stays text', () => {
    expect(sanitizeEmailHtml('<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>').html).toBe(
      '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>',
    );
  });

  it('when a link has an unsafe or relative href, then the href goes, the text stays, and it is reported', () => {
    const r = sanitizeEmailHtml(
      '<a href="javascript:alert(1)">a</a><a href="/api/cases">b</a><a href="VBScript:x">c</a><a href="data:text/html,x">d</a>',
    );

    expect(r.html).toBe('<a>a</a><a>b</a><a>c</a><a>d</a>');
    expect(r.removed).toEqual([
      'a[href=data:]',
      'a[href=javascript:]',
      'a[href=relative]',
      'a[href=vbscript:]',
    ]);
  });

  it('when elements and attributes are removed, then removed names each one once, sorted', () => {
    const r = sanitizeEmailHtml(
      '<html><head><style>p{}</style></head><body><div id="app" class="x" onclick="go()">a</div>' +
        '<div onclick="go()">b</div><iframe src="https://evil.example"></iframe><img src=x onerror=alert(1)></body></html>',
    );

    expect(r.html).toBe('<div>a</div><div>b</div>');
    expect(r.removed).toEqual([
      '<iframe>',
      '<style>',
      'div[class]',
      'div[id]',
      'div[onclick]',
      'img[onerror]',
      'img[src=relative]',
    ]);
  });
});

describe('sanitizeEmailHtml: what it reports', () => {
  it('when a message carries thousands of distinct bad attributes, then removed stops at MAX_REMOVED', () => {
    const html = Array.from({ length: 5000 }, (_, n) => `<p data-x${n}="1">${n}</p>`).join('');

    const r = sanitizeEmailHtml(html);

    expect(MAX_REMOVED).toBe(100);
    expect(r.removed).toHaveLength(MAX_REMOVED);
    expect(r.html).toContain('<p>4999</p>');
  });
});

describe('sanitizeEmailHtml: images', () => {
  it('when images are remote (http, https, protocol-relative, any case), then they are removed and counted, not listed', () => {
    const r = sanitizeEmailHtml(
      '<p>Hi</p><img src="https://track.example/p.gif?u=1" width="1" height="1">' +
        '<img src="http://track.example/o.gif"><img src="//track.example/r.gif"><img SRC="HTTPS://T.EXAMPLE/x">',
    );

    expect(r).toEqual({ html: '<p>Hi</p>', blockedImages: 4, removed: [] });
  });

  it('when a table or body has a remote background image, then it is removed and counted', () => {
    const r = sanitizeEmailHtml(
      '<body background="https://track.example/bg.png"><table background="http://track.example/t.png"><tr><td>x</td></tr></table></body>',
    );

    expect(r).toEqual({ html: '<table><tr><td>x</td></tr></table>', blockedImages: 2, removed: [] });
  });

  it('when images are inline (cid:) or raster data: URLs, then they stay with their alt text and size', () => {
    const png =
      'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
    const r = sanitizeEmailHtml(
      `<img src="cid:logo@desk.example" alt="Logo" width="120"><img src="${png}" alt=""><img src="data:image/jpeg;base64,/9j/4AAQ">`,
    );

    expect(r.blockedImages).toBe(0);
    expect(elements(r.html)).toEqual([
      { tag: 'img', attribs: { src: 'cid:logo@desk.example', alt: 'Logo', width: '120' } },
      { tag: 'img', attribs: { src: png, alt: '' } },
      { tag: 'img', attribs: { src: 'data:image/jpeg;base64,/9j/4AAQ' } },
    ]);
  });

  it('when an image is an SVG data: URL or has a srcset, then the SVG goes and so does the srcset', () => {
    const r = sanitizeEmailHtml(
      '<img src="data:image/svg+xml,<svg/>"><img src="cid:a" srcset="https://track.example/a.png 2x">',
    );

    expect(r.html).toBe('<img src="cid:a" />');
    expect(r.removed).toEqual(['img[src=data:]', 'img[srcset]']);
  });
});

describe('sanitizeEmailHtml: images, continued', () => {
  it('when a dropped image has siblings, then their tags and end tags are intact', () => {
    expect(
      sanitizeEmailHtml(
        '<div><img src="http://t.example/x.gif"><b>bold</b></div><p>a</p><img src=x><p>b</p>',
      ),
    ).toEqual({
      html: '<div><b>bold</b></div><p>a</p><p>b</p>',
      blockedImages: 1,
      removed: ['img[src=relative]'],
    });
  });

  it('when the text spells "<img />", then it stays as text', () => {
    expect(sanitizeEmailHtml('<p>&lt;img /&gt;</p><p title="<img />">t</p>').html).toBe(
      '<p>&lt;img /&gt;</p><p title="&lt;img /&gt;">t</p>',
    );
  });

  it('when a message holds 20 000 links and remote images, then it is sanitized in linear time', () => {
    const html = '<div><a href="https://x.example/">x</a><img src="http://t.example/x.gif"></div>'.repeat(
      20_000,
    );
    const started = Date.now();

    const r = sanitizeEmailHtml(html);

    expect(Date.now() - started).toBeLessThan(5000);
    expect(r.blockedImages).toBe(20_000);
    expect(r.html).toBe(
      '<div><a href="https://x.example/" target="_blank" rel="noopener noreferrer nofollow">x</a></div>'.repeat(
        20_000,
      ),
    );
  });
});

describe('sanitizeEmailHtml: what an email needs', () => {
  it('when a normal email is sanitized, then text, links, lists, tables and inline images survive', () => {
    const html = [
      '<div dir="ltr"><h2>Freezer down</h2>',
      '<p>The <b>freezer</b> at the <i>food bank</i> stopped. See <a href="https://status.example.org/f?a=1&amp;b=2">the log</a>',
      ' or write to <a href="mailto:ops@example.org">ops</a>.</p>',
      '<ul><li>one</li><li>two</li></ul>',
      '<table border="1" cellpadding="4"><tr><th scope="col">Item</th><th>Temp</th></tr>',
      '<tr><td colspan="2" style="color: #333; text-align: center; padding: 4px 8px">-2 &deg;C</td></tr></table>',
      '<img src="cid:photo@example.org" alt="photo"></div>',
    ].join('');

    const r = sanitizeEmailHtml(html);

    expect(r).toEqual({
      html: [
        '<div dir="ltr"><h2>Freezer down</h2>',
        '<p>The <b>freezer</b> at the <i>food bank</i> stopped. See ',
        '<a href="https://status.example.org/f?a=1&amp;b=2" target="_blank" rel="noopener noreferrer nofollow">the log</a>',
        ' or write to <a href="mailto:ops@example.org" target="_blank" rel="noopener noreferrer nofollow">ops</a>.</p>',
        '<ul><li>one</li><li>two</li></ul>',
        '<table border="1" cellpadding="4"><tr><th scope="col">Item</th><th>Temp</th></tr>',
        '<tr><td colspan="2" style="color:#333;text-align:center;padding:4px 8px">-2 °C</td></tr></table>',
        '<img src="cid:photo@example.org" alt="photo" /></div>',
      ].join(''),
      blockedImages: 0,
      removed: [],
    });
    expectSafe(r.html);
  });

  it('when a link sets its own target and rel, then ours replace them', () => {
    const out = sanitizeEmailHtml('<a href="http://example.org/" target="_self" rel="opener">x</a>').html;

    expect(elements(out)).toEqual([
      {
        tag: 'a',
        attribs: { href: 'http://example.org/', target: '_blank', rel: 'noopener noreferrer nofollow' },
      },
    ]);
  });

  it('when a style mixes allowed and other properties, then only the allowed ones stay and the attribute is reported', () => {
    const r = sanitizeEmailHtml(
      '<p style="color: rgb(10, 20, 30); position: fixed; top: 0; font-weight: bold !important; ' +
        "font-family: 'Helvetica Neue', Arial; background-image: url(https://track.example/x.png); z-index: 9999\">p</p>",
    );

    expect(r.html).toBe(
      '<p style="color:rgb(10, 20, 30);font-weight:bold;font-family:\'Helvetica Neue\', Arial">p</p>',
    );
    expect(r.removed).toEqual(['p[style]']);
  });

  it('when no style property is allowed, then the style attribute goes altogether', () => {
    expect(sanitizeEmailHtml('<p style="position:absolute;constructor:x;__proto__:y">p</p>').html).toBe(
      '<p>p</p>',
    );
  });

  it('when the HTML is empty, then the result is empty', () => {
    expect(sanitizeEmailHtml('')).toEqual({ html: '', blockedImages: 0, removed: [] });
  });
});
