import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { shortAgent, when } from '../ui/format';
import {
  ownTimeZone,
  pushSupported,
  removeDevice,
  savePaging,
  sendTestNotification,
  thisDeviceId,
  turnOnNotifications,
  type Device,
  type Paging,
  type TestResult,
} from '../notifications';
import { say } from '../store';
import { ErrorText, Field, useAction, useLoad } from '../ui/ui';

/** Settings: push notifications on this phone and the member's other devices; on call; quiet hours. */
export function NotificationSettings() {
  return (
    <>
      <Devices />
      <OnCall />
    </>
  );
}

const OUTCOME: Record<TestResult['outcome'], string> = {
  delivered: 'delivered',
  removed: 'the push service no longer knows it, so it was removed',
  stale: 'subscribed with an old key: turn notifications on again on that device',
  failed: 'not delivered',
};

function outcomeText(r: TestResult): string {
  const last = r.attempts[r.attempts.length - 1];
  const tries = `${r.attempts.length} ${r.attempts.length === 1 ? 'attempt' : 'attempts'}`;
  const detail = r.outcome === 'failed' && last ? ` (${last.error ?? `answer ${last.status}`})` : '';
  return `${OUTCOME[r.outcome] ?? r.outcome}${detail}, ${tries}`;
}

function Devices() {
  const devices = useLoad(
    () =>
      get<{ subscriptions: Device[] }>('/api/push/subscriptions').then((a) => ({
        ...a,
        body: a.body.subscriptions,
      })),
    [],
  );
  const [mine, setMine] = useState<string>();
  /** The test's results, with each device's name as it was when the test went out. */
  const [results, setResults] = useState<{ result: TestResult; name: string }[]>();
  const act = useAction();
  const findMine = () => thisDeviceId().then(setMine, () => setMine(undefined));
  useEffect(() => void findMine(), []);
  const name = (d: Device) => (d.id === mine ? 'This device' : shortAgent(d.userAgent));
  const list = devices.data ?? [];

  return (
    <section class="card" aria-labelledby="notify-h">
      <h2 id="notify-h">Notifications</h2>
      <p>
        Urgent cases wake you with a notification on each device you turn them on in. The notification names
        the case and its severity, never what it is about; its Acknowledge button takes the page without
        opening the app.
      </p>
      {pushSupported() ? (
        <div class="actions">
          <button
            type="button"
            class="primary"
            disabled={act.busy}
            onClick={() =>
              void act.run(async () => {
                setResults(undefined);
                await turnOnNotifications();
                say('Notifications are on for this phone.');
                await findMine();
                devices.reload();
              })
            }
          >
            Turn on notifications on this phone
          </button>
        </div>
      ) : (
        <p class="hint">This browser cannot receive push notifications.</p>
      )}
      <ErrorText error={act.error ?? devices.error} />
      <h3 id="devices-h">Your devices</h3>
      {list.length ? (
        <ul class="rows" aria-labelledby="devices-h">
          {list.map((d) => (
            <li key={d.id}>
              <span>
                <strong>{name(d)}</strong>
                {d.stale ? <span class="badge warn">needs turning on again</span> : null}
                <span class="muted small">
                  {' '}
                  via {d.pushService}, since {when(d.createdAt)}
                  {d.lastSuccessAt ? `, last reached ${when(d.lastSuccessAt)}` : ''}
                  {d.lastError ? `, last error: ${d.lastError}` : ''}
                </span>
              </span>
              <button
                type="button"
                class="secondary small"
                disabled={act.busy}
                aria-label={`Stop notifications to ${name(d)}, since ${when(d.createdAt)}`}
                onClick={() =>
                  void act.run(async () => {
                    await removeDevice(d.id, d.id === mine);
                    say(`${name(d)} no longer receives notifications.`);
                    if (d.id === mine) setMine(undefined);
                    devices.reload();
                  })
                }
              >
                Remove
              </button>
            </li>
          ))}
        </ul>
      ) : devices.data ? (
        <p>No device receives notifications yet.</p>
      ) : null}
      <div class="actions">
        <button
          type="button"
          class="secondary"
          disabled={act.busy || !list.length}
          onClick={() =>
            void act.run(async () => {
              const names = new Map(list.map((d) => [d.id, name(d)]));
              const answers = await sendTestNotification();
              setResults(
                answers.map((r) => ({ result: r, name: names.get(r.subscriptionId) ?? 'A device' })),
              );
              // A device the push service no longer knows has just been removed.
              devices.reload();
            })
          }
        >
          Send a test notification
        </button>
      </div>
      <div aria-live="polite">
        {results ? (
          <ul class="rows test-results" aria-label="Test notification results">
            {results.map(({ result, name: device }) => (
              <li key={result.subscriptionId}>
                <span>
                  <strong>{device}</strong>: {outcomeText(result)}
                </span>
              </li>
            ))}
          </ul>
        ) : null}
      </div>
    </section>
  );
}

function OnCall() {
  const paging = useLoad(() => get<Paging>('/api/me/paging'), []);
  const oncall = useLoad(() => get<{ now: { id: string; name: string }[] }>('/api/oncall'), []);
  const [state, setState] = useState<Paging>();
  useEffect(() => setState(paging.data), [paging.data]);
  const [quiet, setQuiet] = useState({ on: false, start: '22:00', end: '07:00', timeZone: ownTimeZone() });
  useEffect(() => {
    const q = paging.data?.quietHours;
    if (q) setQuiet({ on: true, ...q });
  }, [paging.data]);
  const act = useAction();
  const save = (patch: Parameters<typeof savePaging>[0], done: string) =>
    act.run(async () => {
      try {
        setState(await savePaging(patch));
      } catch (err) {
        setState(paging.data);
        throw err;
      }
      say(done);
      oncall.reload();
    });
  const submitQuiet = (e: Event) => {
    e.preventDefault();
    const { on, ...hours } = quiet;
    void save({ quietHours: on ? hours : null }, on ? 'Quiet hours saved.' : 'Quiet hours turned off.');
  };
  const now = oncall.data?.now ?? [];

  return (
    <section class="card" aria-labelledby="oncall-h">
      <h2 id="oncall-h">On call</h2>
      <p>
        On call now: {oncall.data ? (now.length ? now.map((p) => p.name).join(', ') : 'nobody') : '…'} ·{' '}
        <a href="#/rota">the weekly rota</a>
      </p>
      <ErrorText error={act.error ?? paging.error} />
      {state ? (
        <>
          <label class="check">
            <input
              type="checkbox"
              checked={state.onCall}
              disabled={act.busy}
              onChange={(e) => {
                const onCall = (e.currentTarget as HTMLInputElement).checked;
                // Shown at once; the desk's answer (or, refused, the old state) follows.
                setState({ ...state, onCall });
                void save({ onCall }, onCall ? 'You are on call.' : 'You are no longer on call.');
              }}
            />
            <span>I am on call</span>
          </label>
          {state.onCallNow && !state.onCall ? <p class="hint">The rota has you on call now.</p> : null}
          <form onSubmit={submitQuiet} aria-labelledby="quiet-h">
            <h3 id="quiet-h">Quiet hours</h3>
            <p class="hint" id="quiet-hint">
              In quiet hours only SEV1 and SEV2 alerts ring through, at any hour; the others wait until the
              quiet hours end. {state.inQuietHours ? 'Your quiet hours are on now.' : ''}
            </p>
            <label class="check">
              <input
                type="checkbox"
                checked={quiet.on}
                aria-describedby="quiet-hint"
                onChange={(e) => setQuiet({ ...quiet, on: (e.currentTarget as HTMLInputElement).checked })}
              />
              <span>Keep quiet hours</span>
            </label>
            {quiet.on ? (
              <>
                <div class="pair">
                  <Field
                    label="Quiet from"
                    type="time"
                    required
                    value={quiet.start}
                    onInput={(start) => setQuiet({ ...quiet, start })}
                  />
                  <Field
                    label="Quiet until"
                    type="time"
                    required
                    value={quiet.end}
                    onInput={(end) => setQuiet({ ...quiet, end })}
                  />
                </div>
                <Field
                  label="Time zone"
                  required
                  value={quiet.timeZone}
                  hint="Such as Europe/Berlin; this phone's own zone unless you change it."
                  onInput={(timeZone) => setQuiet({ ...quiet, timeZone })}
                />
              </>
            ) : null}
            <button type="submit" class="secondary" disabled={act.busy}>
              Save quiet hours
            </button>
          </form>
        </>
      ) : null}
    </section>
  );
}
