import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bus, DBusError, type Message, type Value } from './dbus';
import { waitFor } from './wait';

/**
 * The phone's notification shade, for a real tap on a web notification. Chromium on Linux shows
 * notifications through the desktop's notification server (org.freedesktop.Notifications on the
 * session D-Bus, Desktop Notifications Specification 1.2) when one is on the bus, headless too. This
 * is a real dbus-daemon with, on it, a minimal such server that keeps what it is asked to show. Its
 * tap is the ActionInvoked signal with the "default" action, as a desktop's popup sends when
 * clicked: Chromium then dispatches a trusted notificationclick to the service worker, which may
 * open a window (clients.openWindow), as a NotificationEvent a script makes may not.
 *
 * The D-Bus side is dbus.ts, written for this, so that the tests need the dbus-daemon package and
 * no client library.
 */

/** A notification on the shade. */
export interface ShadeNotification {
  id: number;
  appName: string;
  summary: string;
  body: string;
  /** The action keys offered (Chromium offers "default", the tap, among them). */
  actions: string[];
  /** Closed by Chromium (CloseNotification), as it does once the page or worker closes it. */
  closed: boolean;
}

export interface NotificationShade {
  /** For the browser's DBUS_SESSION_BUS_ADDRESS. */
  readonly busAddress: string;
  readonly notifications: readonly ShadeNotification[];
  /** The first open notification `match` accepts, once there is one. */
  waitForNotification(what: string, match: (n: ShadeNotification) => boolean): Promise<ShadeNotification>;
  /** Taps the notification (the "default" action), or presses its button `action`. */
  tap(n: ShadeNotification, action?: string): void;
  close(): Promise<void>;
}

const NAME = 'org.freedesktop.Notifications';
const OBJECT = '/org/freedesktop/Notifications';

export async function startNotificationShade(): Promise<NotificationShade> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tocsin-dbus-'));
  const socket = path.join(dir, 'bus');
  // A session bus of its own, nothing activatable on it; EXTERNAL: this user only.
  writeFileSync(
    path.join(dir, 'bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`,
  );
  const daemon = spawn('dbus-daemon', [`--config-file=${dir}/bus.conf`, '--nofork', '--print-address=1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let printed = '';
  let failed: Error | undefined;
  daemon.stdout.on('data', (d: Buffer) => (printed += d.toString()));
  daemon.stderr.resume(); // it warns it may not raise its file limit, which does not matter here
  const exited = new Promise<void>((resolve) => {
    daemon.once('exit', () => resolve());
    daemon.once('error', (err) => {
      failed = new Error(`could not start dbus-daemon (the dbus-daemon package): ${err.message}`);
      resolve();
    });
  });
  const stop = async () => {
    if (daemon.exitCode === null && daemon.signalCode === null && !failed) daemon.kill();
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const busAddress = await waitFor('dbus-daemon to listen', () => {
      if (failed) throw failed;
      if (daemon.exitCode !== null) throw new Error(`dbus-daemon exited with ${daemon.exitCode}`);
      return printed.includes('\n') && printed.trim();
    });
    const notifications: ShadeNotification[] = [];
    const bus: Bus = await Bus.connect(socket, (call) => serve(call, notifications, bus));
    const daemonCall = (member: string, signature?: string, body?: Value[]) =>
      bus.call(
        'org.freedesktop.DBus',
        '/org/freedesktop/DBus',
        'org.freedesktop.DBus',
        member,
        signature,
        body,
      );
    await daemonCall('Hello');
    // 4: do not queue; 1 in the answer: this connection owns the name.
    const [owned] = await daemonCall('RequestName', 'su', [NAME, 4]);
    if (owned !== 1) throw new Error(`could not own ${NAME} (${String(owned)})`);
    return {
      busAddress,
      notifications,
      waitForNotification: (what, match) =>
        waitFor(what, () => notifications.find((n) => !n.closed && match(n))),
      tap(n, action = 'default') {
        if (!n.actions.includes(action)) throw new Error(`notification ${n.id} offers no ${action} action`);
        bus.signal(OBJECT, NAME, 'ActionInvoked', 'us', [n.id, action]);
      },
      async close() {
        bus.end();
        await stop();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The notification server's methods: what to answer a call with (signature, body). */
function serve(call: Message, shown: ShadeNotification[], bus: Bus): [string, Value[]] {
  if (call.iface !== NAME) return unknown(call);
  switch (call.member) {
    case 'GetCapabilities':
      return ['as', [['actions', 'body', 'persistence']]];
    case 'GetServerInformation':
      return ['ssss', ['tocsin-test-shade', 'tocsin', '1', '1.2']];
    case 'Notify': {
      const [appName, replaces, , summary, body, actions] = call.body as [
        string,
        number,
        string,
        string,
        string,
        string[],
      ];
      // The actions come as key, label, key, label…
      const fields = {
        appName,
        summary,
        body,
        actions: actions.filter((_, i) => i % 2 === 0),
        closed: false,
      };
      const old = replaces ? shown.find((n) => n.id === replaces) : undefined;
      if (old) Object.assign(old, fields);
      const n = old ?? { id: shown.length + 1, ...fields };
      if (!old) shown.push(n);
      return ['u', [n.id]];
    }
    case 'CloseNotification': {
      const n = shown.find((x) => x.id === call.body[0]);
      if (n && !n.closed) {
        n.closed = true;
        // 3: closed by a call to CloseNotification.
        bus.signal(OBJECT, NAME, 'NotificationClosed', 'uu', [n.id, 3]);
      }
      return ['', []];
    }
    default:
      return unknown(call);
  }
}

function unknown(call: Message): never {
  throw new DBusError('org.freedesktop.DBus.Error.UnknownMethod', `no ${call.iface}.${call.member} here`);
}
