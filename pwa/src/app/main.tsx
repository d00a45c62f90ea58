import { render } from 'preact';
import { loadMe } from './api';
import { App } from './app';
import { renewIfKeyChanged } from './notifications';
import { loadOutbox, sendQueue } from './outbox';
import { me, online, updateReady } from './store';
import './app.css';

/**
 * The page's entry: render the shell, learn who is signed in, send what waits in the outbox, renew
 * a push subscription made with an old key, and keep the service worker (built separately, served
 * at /sw.js) up to date with the member's consent.
 */

render(<App />, document.getElementById('app')!);

async function start(): Promise<void> {
  await Promise.all([loadMe(), loadOutbox()]);
  sendQueue();
  // Subscribed with a key the desk has since rotated: subscribe again, or no alert arrives here.
  if (me.get()) await renewIfKeyChanged().catch(() => undefined);
}
void start();

addEventListener('online', () => {
  online.set(true);
  sendQueue({ afresh: true });
});
addEventListener('offline', () => online.set(false));

function watchServiceWorker(): void {
  if (!('serviceWorker' in navigator)) return;
  const sw = navigator.serviceWorker;
  let reloading = false;
  let asked = false;
  let hadController = !!sw.controller;
  sw.addEventListener('controllerchange', () => {
    if (reloading) return;
    if (asked) {
      reloading = true;
      location.reload();
    } else if (!hadController) {
      // The first worker taking control (on a first visit) is not an update; a later one is.
      hadController = true;
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
