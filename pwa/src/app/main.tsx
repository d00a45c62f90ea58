import { render } from 'preact';
import { loadMe } from './api';
import { App } from './app';
import { flush, loadOutbox, pending } from './outbox';
import { online, updateReady } from './store';
import './app.css';

/**
 * The page's entry: render the shell, learn who is signed in, send what waits in the outbox, and
 * keep the service worker (built separately, served at /sw.js) up to date with the member's consent.
 */

render(<App />, document.getElementById('app')!);

async function start(): Promise<void> {
  await Promise.all([loadMe(), loadOutbox()]);
  if (navigator.onLine) void flush();
}
void start();

addEventListener('online', () => {
  online.set(true);
  void flush();
});
addEventListener('offline', () => online.set(false));
// The desk may be unreachable while the browser thinks it is online: try the queue again now and then.
setInterval(() => {
  if (navigator.onLine && pending.get().length) void flush();
}, 20_000);

function watchServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  const sw = navigator.serviceWorker;
  let reloading = false;
  let asked = false;
  const hadController = !!sw.controller;
  sw.addEventListener('controllerchange', () => {
    // The first worker taking control is not an update; a later one is.
    if (!hadController || reloading) return;
    if (asked) {
      reloading = true;
      location.reload();
    } else {
      updateReady.set(() => {
        reloading = true;
        location.reload();
      });
    }
  });
  const offer = (waiting: ServiceWorker) =>
    updateReady.set(() => {
      asked = true;
      waiting.postMessage({ type: 'SKIP_WAITING' });
    });
  sw.register('/sw.js').then(
    (reg) => {
      if (reg.waiting && sw.controller) offer(reg.waiting);
      reg.addEventListener('updatefound', () => {
        const next = reg.installing;
        next?.addEventListener('statechange', () => {
          if (next.state === 'installed' && sw.controller) offer(next);
        });
      });
    },
    () => undefined,
  );
}
watchServiceWorker();
