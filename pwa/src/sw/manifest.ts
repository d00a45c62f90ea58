/**
 * The web app manifest, less its icons (build-icons.ts draws them and build-sw.ts adds them).
 * The colours are the page's (app.css: --brand, the theme-color meta; --ground, the body).
 * build-sw.ts writes it to dist/manifest.webmanifest; the page links it from index.html.
 */
export const THEME_COLOR = '#8b1e1e';
export const BACKGROUND_COLOR = '#f2f3f6';

export const webManifest = {
  id: '/',
  name: 'Tocsin',
  short_name: 'Tocsin',
  description: 'The incident desk: triage, answer and close cases from your phone, online or off.',
  lang: 'en',
  start_url: '/',
  scope: '/',
  display: 'standalone',
  orientation: 'any',
  theme_color: THEME_COLOR,
  background_color: BACKGROUND_COLOR,
  categories: ['productivity', 'business'],
} as const;
