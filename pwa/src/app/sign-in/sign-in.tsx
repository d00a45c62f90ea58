import { useState } from 'preact/hooks';
import { request } from '../api';
import { go } from '../navigation';
import { passkeysSupported, signInWithPasskey } from '../passkeys';
import { ErrorText, Field, ScreenFrame, useAction } from '../ui/ui';

/** Signing in: a link by email, or a passkey registered earlier. */
export function SignIn() {
  const [email, setEmail] = useState('');
  const [sentTo, setSentTo] = useState<string>();
  const link = useAction();
  const passkey = useAction();

  const askForLink = (e: Event) => {
    e.preventDefault();
    void link.run(async () => {
      await request('POST', '/auth/magic-link', { email: email.trim() });
      setSentTo(email.trim());
    });
  };

  const withPasskey = () =>
    void passkey.run(async () => {
      await signInWithPasskey();
      go('#/');
    });

  return (
    <ScreenFrame title="Sign in">
      {sentTo ? (
        <section class="card" aria-labelledby="mail-h">
          <h2 id="mail-h">Check your mail</h2>
          <p role="status">
            If {sentTo} belongs to a member, a sign-in link is on its way. It works once, within 15 minutes.
            Open it on this phone and press <strong>Sign in to Tocsin</strong>.
          </p>
          <button type="button" class="secondary" onClick={() => setSentTo(undefined)}>
            Use another address
          </button>
        </section>
      ) : (
        <form class="card" onSubmit={askForLink} aria-labelledby="link-h">
          <h2 id="link-h">By email</h2>
          <Field
            label="Your email address"
            type="email"
            name="email"
            autocomplete="username webauthn"
            value={email}
            onInput={setEmail}
            required
          />
          <ErrorText error={link.error} />
          <button type="submit" class="primary" disabled={link.busy}>
            {link.busy ? 'Sending…' : 'Email me a sign-in link'}
          </button>
        </form>
      )}
      {passkeysSupported() ? (
        <section class="card" aria-labelledby="pk-h">
          <h2 id="pk-h">With a passkey</h2>
          <p>If you added a passkey on this device, use it instead of a link.</p>
          <ErrorText error={passkey.error} />
          <button type="button" class="primary" onClick={withPasskey} disabled={passkey.busy}>
            Sign in with a passkey
          </button>
        </section>
      ) : null}
    </ScreenFrame>
  );
}
