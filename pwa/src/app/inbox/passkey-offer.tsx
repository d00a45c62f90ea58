import { useEffect, useState } from 'preact/hooks';
import { addPasskey, deviceName, listPasskeys, passkeysSupported } from '../passkeys';
import { me, say, useCell } from '../store';
import { ErrorText, Field, useAction } from '../ui/ui';

const DISMISSED = 'tocsin.passkey-offer-dismissed';

/**
 * After signing in by email link, offer to add a passkey, so that next time needs no mail. Shown
 * once per browser until added or dismissed; Settings can always add one.
 */
export function PasskeyOffer() {
  const who = useCell(me);
  const [show, setShow] = useState(false);
  const [name, setName] = useState(deviceName());
  const add = useAction();
  const byLink = who?.sessions?.find((s) => s.current)?.method === 'magic-link';

  useEffect(() => {
    if (!byLink || !passkeysSupported() || localStorage.getItem(DISMISSED)) return;
    listPasskeys().then(
      (keys) => setShow(keys.length === 0),
      () => setShow(false),
    );
  }, [byLink]);

  if (!show) return null;
  const dismiss = () => {
    localStorage.setItem(DISMISSED, '1');
    setShow(false);
  };
  const onSubmit = (e: Event) => {
    e.preventDefault();
    void add.run(async () => {
      const key = await addPasskey(name);
      say(`Passkey "${key.name}" added: next time, sign in with it.`);
      dismiss();
    });
  };
  return (
    <form class="card offer" onSubmit={onSubmit} aria-labelledby="offer-h">
      <h2 id="offer-h">Sign in faster next time</h2>
      <p>Add a passkey on this device: your fingerprint, face or screen lock then signs you in.</p>
      <Field label="Name for this passkey" value={name} onInput={setName} />
      <ErrorText error={add.error} />
      <div class="actions">
        <button type="submit" class="primary" disabled={add.busy}>
          Add a passkey
        </button>
        <button type="button" class="secondary" onClick={dismiss}>
          Not now
        </button>
      </div>
    </form>
  );
}
