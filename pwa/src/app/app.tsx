import { useEffect } from 'preact/hooks';
import { CaseScreen } from './case/case';
import { Inbox } from './inbox/inbox';
import { dismissRefusals, failed, pending } from './outbox';
import { Register } from './register/register';
import { caseHref, go, useScreen, type Screen } from './navigation';
import { Rota } from './rota/rota';
import { Settings } from './settings/settings';
import { SignIn } from './sign-in/sign-in';
import { conflicts, me, notice, online, updateReady, useCell } from './store';

/** The shell: banners at the top, the screen, and the navigation at the bottom, under the thumb. */
export function App() {
  const screen = useScreen();
  const who = useCell(me);
  useEffect(() => {
    if (who === null && screen.name !== 'sign-in') go('#/sign-in');
    if (who && screen.name === 'sign-in') go('#/');
  }, [who, screen.name]);

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Tocsin</span>
        <Status />
      </header>
      <Banners screen={screen} />
      <main id="main">
        {who === undefined ? (
          <p class="loading">Loading…</p>
        ) : (
          <CurrentScreen screen={screen} signedIn={!!who} />
        )}
      </main>
      {who ? <Nav screen={screen} /> : null}
    </>
  );
}

function CurrentScreen({ screen, signedIn }: { screen: Screen; signedIn: boolean }) {
  if (!signedIn || screen.name === 'sign-in') return <SignIn />;
  switch (screen.name) {
    case 'case':
      return <CaseScreen key={screen.key} caseKey={screen.key} />;
    case 'register':
      return <Register query={screen.query} />;
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

function Banners({ screen }: { screen: Screen }) {
  const reload = useCell(updateReady);
  const message = useCell(notice);
  const stale = useCell(conflicts);
  const refused = useCell(failed);
  const elsewhere = stale.filter((c) => screen.name !== 'case' || c.caseKey !== screen.key);
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

const NAV: [Screen['name'], string, string][] = [
  ['inbox', '#/', 'Inbox'],
  ['register', '#/register', 'Register'],
  ['settings', '#/settings', 'Settings'],
];

function Nav({ screen }: { screen: Screen }) {
  return (
    <nav class="bottom" aria-label="Main">
      {NAV.map(([name, href, label]) => (
        <a
          key={name}
          href={href}
          aria-current={
            screen.name === name ||
            (name === 'inbox' && screen.name === 'case') ||
            (name === 'settings' && screen.name === 'rota')
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
