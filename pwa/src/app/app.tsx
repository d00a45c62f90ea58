import { useEffect } from 'preact/hooks';
import { CaseScreen } from './case/case';
import { Inbox } from './inbox/inbox';
import { dismissRefusals, failed, pending } from './outbox';
import { Register } from './register/register';
import { caseHref, go, useRoute, type Route } from './route';
import { Rota } from './rota/rota';
import { Settings } from './settings/settings';
import { SignIn } from './sign-in/sign-in';
import { conflicts, me, notice, online, updateReady, useCell } from './store';

/** The shell: banners at the top, the screen, and the navigation at the bottom, under the thumb. */
export function App() {
  const route = useRoute();
  const who = useCell(me);
  useEffect(() => {
    if (who === null && route.name !== 'sign-in') go('#/sign-in');
    if (who && route.name === 'sign-in') go('#/');
  }, [who, route.name]);

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Tocsin</span>
        <Status />
      </header>
      <Banners route={route} />
      <main id="main">
        {who === undefined ? <p class="loading">Loading…</p> : <Screen route={route} signedIn={!!who} />}
      </main>
      {who ? <Nav route={route} /> : null}
    </>
  );
}

function Screen({ route, signedIn }: { route: Route; signedIn: boolean }) {
  if (!signedIn || route.name === 'sign-in') return <SignIn />;
  switch (route.name) {
    case 'case':
      return <CaseScreen key={route.key} caseKey={route.key} />;
    case 'register':
      return <Register query={route.query} />;
    case 'settings':
      return <Settings />;
    case 'rota':
      return <Rota />;
    default:
      return <Inbox />;
  }
}

/** Online or not, and how many writes wait to be sent. */
function Status() {
  const isOnline = useCell(online);
  const queued = useCell(pending).length;
  return (
    <span class="status" role="status">
      {isOnline ? null : <span class="badge warn">offline</span>}
      {queued ? <span class="badge pending">{queued} pending</span> : null}
    </span>
  );
}

function Banners({ route }: { route: Route }) {
  const reload = useCell(updateReady);
  const message = useCell(notice);
  const stale = useCell(conflicts);
  const refused = useCell(failed);
  const elsewhere = stale.filter((c) => route.name !== 'case' || c.caseKey !== route.key);
  useEffect(() => {
    if (!message) return;
    const t = setTimeout(() => notice.set(null), 8000);
    return () => clearTimeout(t);
  }, [message]);
  return (
    <div class="banners">
      {reload ? (
        <div class="banner update" role="status">
          <span>A new version of Tocsin is ready.</span>
          <button type="button" class="primary small" onClick={reload}>
            Reload
          </button>
        </div>
      ) : null}
      {elsewhere.length ? (
        <div class="banner conflict-banner" role="alert">
          <span>
            {elsewhere.length === 1 ? 'A change needs' : `${elsewhere.length} changes need`} your
            decision:{' '}
          </span>
          {[...new Set(elsewhere.map((c) => c.caseKey))].map((k) => (
            <a key={k} href={caseHref(k)}>
              {k}
            </a>
          ))}
        </div>
      ) : null}
      {refused.length ? (
        <div class="banner error" role="alert">
          <ul>
            {refused.map((f) => (
              <li key={f.write.id}>
                {f.write.label} on <a href={caseHref(f.write.caseKey)}>{f.write.caseKey}</a> was refused:{' '}
                {f.message}
              </li>
            ))}
          </ul>
          <button type="button" class="secondary small" onClick={() => void dismissRefusals()}>
            Dismiss
          </button>
        </div>
      ) : null}
      <div class={message ? `banner ${message.kind}` : 'sr-only'} role="status" aria-live="polite">
        {message?.text ?? ''}
      </div>
    </div>
  );
}

const NAV: [Route['name'], string, string][] = [
  ['inbox', '#/', 'Inbox'],
  ['register', '#/register', 'Register'],
  ['settings', '#/settings', 'Settings'],
];

function Nav({ route }: { route: Route }) {
  return (
    <nav class="bottom" aria-label="Main">
      {NAV.map(([name, href, label]) => (
        <a
          key={name}
          href={href}
          aria-current={
            route.name === name ||
            (name === 'inbox' && route.name === 'case') ||
            (name === 'settings' && route.name === 'rota')
              ? 'page'
              : undefined
          }
        >
          {label}
        </a>
      ))}
    </nav>
  );
}
