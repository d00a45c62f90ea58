import type { PrecacheEntry } from 'workbox-precaching';
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching';
import { NavigationRoute, registerRoute } from 'workbox-routing';
import { NetworkFirst } from 'workbox-strategies';
import { ExpirationPlugin } from 'workbox-expiration';
import type { WorkboxPlugin } from 'workbox-core/types';
import { listenForPush } from './push';

/**
 * Tocsin's service worker. It precaches the app shell, answers navigations with the shell, and
 * keeps the last answer of the few API reads a member needs on a bad connection (the case list,
 * a case, who am I), stamped with the time it was fetched. It handles same-origin GET requests
 * only: every other request (writes, other sites) goes to the network untouched, so a write made
 * offline fails as a network error and the page's own outbox keeps it. Push notifications, their
 * taps and the Acknowledge button are in push.ts.
 */

declare global {
  interface ServiceWorkerGlobalScope {
    /** The precache manifest, put here by workbox-build's injectManifest at build time. */
    __WB_MANIFEST: (PrecacheEntry | string)[];
  }
}
declare const self: ServiceWorkerGlobalScope;

/** The API cache; bump the version when the shape of what is stored changes. */
const API_CACHE = 'tocsin-api-v1';
/** Our runtime caches; on activation, any other `tocsin-` cache is from an older worker. */
const OWN_CACHES = new Set([API_CACHE]);
/** The header an /api answer from the cache always carries: when it was fetched (ISO 8601). */
const CACHED_AT = 'X-Tocsin-Cached-At';
const NETWORK_TIMEOUT_SECONDS = 4;
/** The list under a few filters and the cases opened lately; nothing kept past a week. */
const apiExpiration = new ExpirationPlugin({
  maxEntries: 200,
  maxAgeSeconds: 7 * 24 * 3600,
  purgeOnQuotaError: true,
});

/** The reads kept for offline use: GET /api/cases, /api/cases/:key, /api/me, /api/playbook. Nothing else. */
const CACHEABLE_API = [/^\/api\/cases$/, /^\/api\/cases\/[^/]+$/, /^\/api\/me$/, /^\/api\/playbook$/];
/** Addresses the shell must never stand in for. */
const NOT_THE_SHELL = [/^\/api(\/|$)/, /^\/auth(\/|$)/, /^\/healthz$/, /^\/readyz$/];

const sameOrigin = (url: URL) => url.origin === self.location.origin;

/** A GET of one of the cacheable reads, made with the session cookie (not a script's token). */
function isCacheableApiRead(url: URL, request: Request): boolean {
  return (
    request.method === 'GET' &&
    sameOrigin(url) &&
    url.pathname !== '/api/cases.csv' &&
    CACHEABLE_API.some((re) => re.test(url.pathname)) &&
    !request.headers.has('authorization')
  );
}

/**
 * Cleared on sign-out. A read already under way when the cache is cleared must not put the
 * member's cases back, so each read notes the generation it started in.
 */
let apiGeneration = 0;

async function clearApiCache(): Promise<void> {
  apiGeneration++;
  await Promise.all([caches.delete(API_CACHE), apiExpiration.deleteCacheAndMetadata()]);
}

const stampFetchTime: WorkboxPlugin = {
  requestWillFetch: async ({ request, state }) => {
    if (state) state.generation = apiGeneration;
    return request;
  },
  // The session ended (signed out elsewhere, expired): what we kept is no longer the member's to read.
  fetchDidSucceed: async ({ response }) => {
    if (response.status === 401) await clearApiCache();
    return response;
  },
  // Only a complete, successful answer is kept, with the time it was fetched.
  cacheWillUpdate: async ({ response, state }) => {
    if (response.status !== 200 || response.type !== 'basic') return null;
    if (/no-store/i.test(response.headers.get('Cache-Control') ?? '')) return null;
    if (state?.generation !== apiGeneration) return null;
    const headers = new Headers(response.headers);
    headers.set(CACHED_AT, new Date().toISOString());
    return new Response(await response.clone().blob(), {
      status: response.status,
      statusText: response.statusText,
      headers,
    });
  },
  // Never an /api answer from the cache without its age.
  cachedResponseWillBeUsed: async ({ cachedResponse }) =>
    cachedResponse?.headers.get(CACHED_AT) ? cachedResponse : null,
};

// The app shell, from the build's manifest; `/` is served as `/index.html`.
precacheAndRoute(self.__WB_MANIFEST);
cleanupOutdatedCaches();

listenForPush();

registerRoute(new NavigationRoute(createHandlerBoundToURL('/index.html'), { denylist: NOT_THE_SHELL }));

registerRoute(
  ({ url, request }) => isCacheableApiRead(url, request),
  new NetworkFirst({
    cacheName: API_CACHE,
    networkTimeoutSeconds: NETWORK_TIMEOUT_SECONDS,
    plugins: [stampFetchTime, apiExpiration],
  }),
  'GET',
);

self.addEventListener('message', (event) => {
  const type = (event.data as { type?: unknown } | null)?.type;
  if (type === 'SKIP_WAITING') {
    // Only when the member agreed to "new version, reload".
    event.waitUntil(self.skipWaiting());
  } else if (type === 'CLEAR_API_CACHE') {
    event.waitUntil(clearApiCache().then(() => event.ports[0]?.postMessage({ type: 'API_CACHE_CLEARED' })));
  }
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      await Promise.all(
        names
          .filter((name) => name.startsWith('tocsin-') && !OWN_CACHES.has(name))
          .map((name) => caches.delete(name)),
      );
      await self.clients.claim();
    })(),
  );
});
