import { useState } from 'preact/hooks';
import { get, loadMe, request, setCsrf } from '../api';
import { shortAgent, when } from '../ui/format';
import { addPasskey, deviceName, listPasskeys, passkeysSupported, removePasskey } from '../passkeys';
import { NotificationSettings } from './notify-settings';
import { go } from '../navigation';
import { me, say, useCell } from '../store';
import type { Me } from '../types';
import { ErrorText, Field, Freshness, ScreenFrame, useAction, useLoad } from '../ui/ui';

/** The member's passkeys and sessions, notifications on their devices, on call and quiet hours. */
export function Settings() {
  const who = useCell(me);
  const signOut = useAction();
  return (
    <ScreenFrame title="Settings">
      {who ? (
        <p class="lead">
          {who.name} · {who.email} · {who.role}
        </p>
      ) : null}
      <Passkeys />
      <Sessions />
      <NotificationSettings />
      <ErrorText error={signOut.error} />
      <div class="actions">
        <button
          type="button"
          class="danger"
          disabled={signOut.busy}
          onClick={() =>
            void signOut.run(async () => {
              await request('DELETE', '/api/me/sessions/current');
              setCsrf(undefined);
              localStorage.removeItem('tocsin.me');
              // What the service worker kept of this member's cases is not the next person's to read.
              navigator.serviceWorker?.controller?.postMessage({ type: 'CLEAR_API_CACHE' });
              me.set(null);
              go('#/sign-in');
            })
          }
        >
          Sign out
        </button>
      </div>
    </ScreenFrame>
  );
}

function Passkeys() {
  const keys = useLoad(async () => ({ status: 200, body: await listPasskeys() }), []);
  const [name, setName] = useState(deviceName());
  const act = useAction();
  const add = (e: Event) => {
    e.preventDefault();
    void act.run(async () => {
      const added = await addPasskey(name);
      say(`Passkey "${added.name}" added.`);
      keys.reload();
    });
  };
  return (
    <section class="card" aria-labelledby="pk-h">
      <h2 id="pk-h">Passkeys</h2>
      <ErrorText error={keys.error} />
      {keys.data?.length ? (
        <ul class="rows">
          {keys.data.map((k) => (
            <li key={k.id}>
              <span>
                <strong>{k.name}</strong>
                <span class="muted small">
                  {' '}
                  added {when(k.createdAt)}
                  {k.lastUsedAt ? `, last used ${when(k.lastUsedAt)}` : ''}
                </span>
              </span>
              <button
                type="button"
                class="secondary small"
                disabled={act.busy}
                aria-label={`Remove passkey ${k.name}`}
                onClick={() =>
                  void act.run(async () => {
                    await removePasskey(k.id);
                    say(`Passkey "${k.name}" removed.`);
                    keys.reload();
                  })
                }
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      ) : keys.data ? (
        <p>No passkeys yet: you sign in by email link.</p>
      ) : null}
      {passkeysSupported() ? (
        <form onSubmit={add} aria-label="Add a passkey">
          <Field label="Name for a new passkey" value={name} onInput={setName} />
          <ErrorText error={act.error} />
          <button type="submit" class="primary" disabled={act.busy}>
            Add a passkey
          </button>
        </form>
      ) : (
        <p class="hint">This browser cannot use passkeys.</p>
      )}
    </section>
  );
}

function Sessions() {
  const data = useLoad(() => get<Me>('/api/me'), []);
  const act = useAction();
  const end = (id: string) =>
    act.run(async () => {
      await request('DELETE', `/api/me/sessions/${encodeURIComponent(id)}`);
      say('Session ended.');
      data.reload();
      await loadMe();
    });
  return (
    <section class="card" aria-labelledby="sessions-h">
      <h2 id="sessions-h">Sessions</h2>
      <Freshness cachedAt={data.cachedAt} />
      <ErrorText error={data.error ?? act.error} />
      <ul class="rows">
        {data.data?.sessions.map((s) => (
          <li key={s.id}>
            <span>
              <strong>{s.current ? 'This device' : shortAgent(s.userAgent)}</strong>
              <span class="muted small">
                {' '}
                by {s.method === 'passkey' ? 'passkey' : 'email link'}, since {when(s.createdAt)}, last seen{' '}
                {when(s.lastSeenAt)}
              </span>
            </span>
            {s.current ? null : (
              <button
                type="button"
                class="secondary small"
                disabled={act.busy}
                aria-label={`End session on ${shortAgent(s.userAgent)} since ${when(s.createdAt)}`}
                onClick={() => void end(s.id)}
              >
                End
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
