import { emailHtmlOf } from '../cases/service';
import { sanitizeEmailHtml } from '../mail/sanitize';
import { HttpError } from './errors';
import type { ApiRoute } from './route-kit';

/**
 * One email's HTML as a document of its own, for the PWA's sandboxed iframe: sanitised on the
 * server, and under a CSP that sandboxes it (no scripts, whatever the iframe says), loads nothing
 * but inline images unless the member asked for images, and lets only our own pages frame it.
 */

/** After each link, its real target in plain text: a phone cannot hover to see where it goes. */
function showLinkTargets(html: string): string {
  return html.replace(
    /<a href="([^"]*)"([^>]*)>([\s\S]*?)<\/a>/g,
    (_all, href: string, rest: string, text: string) =>
      `<a href="${href}"${rest}>${text}</a><span class="tocsin-target"> ⟨${href}⟩</span>`,
  );
}

export function emailHtmlPolicy(images: boolean): string {
  return [
    'sandbox allow-popups allow-popups-to-escape-sandbox',
    "default-src 'none'",
    `img-src data:${images ? ' https: http:' : ''}`,
    "style-src 'unsafe-inline'",
    "form-action 'none'",
    "base-uri 'none'",
    "frame-ancestors 'self'",
  ].join('; ');
}

export const emailHtmlRoute: ApiRoute = {
  method: 'get',
  path: '/cases/:key/timeline/:entry/html',
  access: 'case:read',
  summary:
    'One email’s HTML, sanitised, as a sandboxed document for an iframe; remote images only with `images=1`',
  query: { images: '`1` to load the message’s remote images' },
  handler: (req, res, next) => {
    const images = req.query.images === '1';
    emailHtmlOf(req.case!.key, String(req.params.entry))
      .then((raw) => {
        if (raw === undefined)
          throw new HttpError(404, 'html-not-found', 'That entry is not an email of this case with HTML.');
        const { html } = sanitizeEmailHtml(raw, { remoteImages: images });
        res
          .status(200)
          .set({
            'Content-Type': 'text/html; charset=utf-8',
            'Content-Security-Policy': emailHtmlPolicy(images),
            'X-Frame-Options': 'SAMEORIGIN',
            'Referrer-Policy': 'no-referrer',
            'Cache-Control': 'private, no-store',
          })
          .send(
            '<!doctype html><html><head><meta charset="utf-8">' +
              '<meta name="viewport" content="width=device-width, initial-scale=1">' +
              '<style>body{font:16px/1.45 system-ui,sans-serif;margin:8px;overflow-wrap:anywhere}' +
              'img{max-width:100%;height:auto}.tocsin-target{color:#555;font-size:.85em}</style>' +
              `</head><body>${showLinkTargets(html)}</body></html>`,
          );
      })
      .catch(next);
  },
};
