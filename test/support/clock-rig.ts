import { addUser, createToken } from '../../server/auth/users';
import { loadPlaybook } from '../../server/cases/playbook';
import { ClockScheduler } from '../../server/clocks/scheduler';
import { storedKeyPager, type Pager } from '../../server/push/pager';
import { startDesk, testLog, type Desk, type DeskOptions } from './desk';
import { uniqueName } from './env';
import { compose } from './mail';
import {
  startPushService,
  type PushDelivery,
  type PushService,
  type PushSubscriptionJson,
} from './push-service';

/**
 * A desk for the clock tests: members with devices subscribed through the API, a pager like the
 * desk's, schedulers on a clock the test moves, and the pushes and timeline entries put in a form
 * a test can compare whole ("escalation → Lead A").
 */

export interface Member {
  id: string;
  name: string;
  token: string;
}

/** The payload every case alert carries, and nothing else. */
export interface AlertPayload {
  alert: string;
  key: string;
  severity: string;
  url: string;
  id: string;
}

export interface ClockView {
  kind: string;
  state: string;
  dueAt: string;
  doneAt?: string;
}

export interface AlertEntry {
  kind: 'alert';
  at: string;
  alert: {
    id: string;
    kind: string;
    clock: string;
    audience: string;
    urgent: boolean;
    dueAt: string;
    recipients: { id: string; name: string }[];
    unreachable: { id: string; name: string }[];
    results: { subscriptionId: string; userId: string; outcome: string; attempts: { status: number }[] }[];
  };
}

export interface CaseView {
  key: string;
  severity: string;
  status: string;
  version: number;
  firstSeenAt: string;
  createdAt: string;
  acknowledged: { by: { id: string; name: string }; at: string } | null;
  clocks: ClockView[];
  breach: { awareAt: string; authorityNotified: { at: string; reference: string; reason?: string } | null };
  review: { at: string; link: string } | null;
  timeline: { kind: string; at: string; change?: { changes: { field: string; to: unknown }[] } }[];
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const at = (base: Date | string, ms: number) => new Date(new Date(base).getTime() + ms);

/** The desk's own members: two on call (own mark, then the rota), one taken off, one plain, two leads. */
export type Cast = Record<'onCall' | 'offCall' | 'plain' | 'leadA' | 'leadB', Member>;

export class ClockRig {
  readonly pager: Pager;
  private readonly schedulers: ClockScheduler[] = [];
  /** Which member each device belongs to, by endpoint, for naming the pushes. */
  private readonly deviceOwner = new Map<string, string>();
  private seen = 0;
  private members?: Cast;

  private constructor(
    readonly desk: Desk,
    readonly push: PushService,
  ) {
    this.pager = storedKeyPager(testLog);
  }

  static async start(push: PushService, opts: DeskOptions = {}): Promise<ClockRig> {
    const rig = new ClockRig(await startDesk(opts), push);
    const cast: Cast = {
      onCall: await rig.member('On Call', 'member'),
      offCall: await rig.member('Off Call', 'member'),
      plain: await rig.member('Plain Member', 'member'),
      leadA: await rig.member('Lead A', 'lead'),
      leadB: await rig.member('Lead B', 'lead'),
    };
    rig.members = cast;
    await rig.paging(cast.onCall, { onCall: true });
    // On call once, then not: the mark taken off is what counts.
    await rig.paging(cast.offCall, { onCall: true });
    await rig.paging(cast.offCall, { onCall: false });
    push.clear();
    return rig;
  }

  get cast(): Cast {
    if (!this.members) throw new Error('the rig is still starting');
    return this.members;
  }

  /** A member with one device subscribed through the API. */
  async member(name: string, role: 'member' | 'lead'): Promise<Member> {
    const email = `${uniqueName(role)}@example.org`.toLowerCase();
    const user = await addUser(email, name, role);
    const member = { id: String(user._id), name, token: await createToken(email) };
    await this.addDevice(member, name);
    return member;
  }

  /** Subscribes one more device of the member; its pushes are named `label`. */
  async addDevice(who: Member, label: string): Promise<PushSubscriptionJson> {
    const sub = this.push.newSubscription();
    const res = await this.call(who, 'POST', '/push/subscriptions', sub);
    expect(res.status).toBe(201);
    this.deviceOwner.set(sub.endpoint, label);
    return sub;
  }

  async call<T = unknown>(
    who: Member | 'admin',
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }> {
    const token = who === 'admin' ? this.desk.token : who.token;
    const res = await fetch(`${this.desk.url}/api${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async paging(who: Member, body: { onCall?: boolean; quietHours?: QuietHours | null }): Promise<void> {
    const res = await this.call(who, 'PATCH', '/me/paging', body);
    expect(res.status).toBe(200);
  }

  /** A scheduler on the test's clock (the wall clock without one); stopped by stop(). */
  scheduler(now?: () => Date, instanceId = uniqueName('clocks')): ClockScheduler {
    const s = new ClockScheduler(
      { pager: this.pager, playbook: loadPlaybook(), log: testLog, instanceId },
      now ? { now } : {},
    );
    this.schedulers.push(s);
    return s;
  }

  /** Opens a case from a report, as intake does; `receivedAt` is its first-seen time. */
  async openCase(subject: string, text: string, receivedAt?: Date): Promise<CaseView> {
    const raw = await compose({ subject, text });
    const result = await this.desk.intake.ingestOrQuarantine(raw, { kind: 'file', receivedAt });
    if (result.outcome !== 'created') throw new Error(`intake ${result.outcome}, not created`);
    return this.caseView(result.caseKey);
  }

  async caseView(key: string): Promise<CaseView> {
    const res = await this.call<CaseView>('admin', 'GET', `/cases/${encodeURIComponent(key)}`);
    expect(res.status).toBe(200);
    return res.body;
  }

  /** A change through the API by a member, from the version the case is at. */
  async patch(who: Member, key: string, body: Record<string, unknown>): Promise<CaseView> {
    const { version } = await this.caseView(key);
    const res = await this.call<CaseView>(who, 'PATCH', `/cases/${encodeURIComponent(key)}`, {
      version,
      ...body,
    });
    expect(res).toMatchObject({ status: 200 });
    return res.body;
  }

  /** The case's alert entries, each as "kind → recipients" with its delivered device count. */
  async alertLog(key: string): Promise<{ kind: string; id: string; to: string[]; delivered: number }[]> {
    const { timeline } = await this.caseView(key);
    return (timeline as unknown as AlertEntry[])
      .filter((e) => e.kind === 'alert')
      .map(({ alert }) => ({
        kind: alert.kind,
        id: alert.id,
        to: alert.recipients.map((r) => r.name).sort(),
        delivered: alert.results.filter((r) => r.outcome === 'delivered').length,
      }));
  }

  /** Every push of a case alert so far, with the member it reached. */
  pushes(key?: string): { payload: AlertPayload; to: string; delivery: PushDelivery }[] {
    return this.push.deliveries
      .map((delivery) => ({
        payload: delivery.json as AlertPayload,
        to: this.deviceOwner.get(delivery.endpoint) ?? delivery.endpoint,
        delivery,
      }))
      .filter((p) => key === undefined || p.payload.key === key);
  }

  /** The pushes since the last call, as sorted "kind → member" lines. */
  newPushes(): string[] {
    const fresh = this.pushes().slice(this.seen);
    this.seen += fresh.length;
    return fresh.map((p) => `${p.payload.alert} → ${p.to}`).sort();
  }

  async stop(): Promise<void> {
    await Promise.all(this.schedulers.map((s) => s.stop()));
    this.pager.close();
    await this.desk.stop();
  }
}

export interface QuietHours {
  start: string;
  end: string;
  timeZone: string;
}

const hhmm = (d: Date) => d.toISOString().slice(11, 16);

/**
 * Quiet hours in UTC from `before` ms before `now` to `after` ms after it (to the minute), and the
 * moment they end.
 */
export function quietAround(now: Date, before: number, after: number): { hours: QuietHours; endsAt: Date } {
  const endsAt = new Date(Math.floor((now.getTime() + after) / MINUTE) * MINUTE);
  return { hours: { start: hhmm(at(now, -before)), end: hhmm(endsAt), timeZone: 'UTC' }, endsAt };
}

/** The clock of a kind on the case. */
export const clockOf = (view: CaseView, kind: string): ClockView => {
  const found = view.clocks.find((c) => c.kind === kind);
  if (!found) throw new Error(`case ${view.key} has no ${kind} clock: ${JSON.stringify(view.clocks)}`);
  return found;
};

/** Pushes as `kind → member` lines, sorted: what the clock tests compare. */
export const lines = (kind: string, ...names: string[]) => names.map((n) => `${kind} → ${n}`).sort();

/**
 * The jest lifecycle of a clock test file: one local push service for the file, and a fresh desk
 * with its cast for each test, handed to `use` before the test runs.
 */
export function eachTestAClockRig(use: (rig: ClockRig) => void, opts: DeskOptions = {}): void {
  let push: PushService;
  let rig: ClockRig | undefined;
  beforeAll(async () => {
    push = await startPushService();
  });
  afterAll(() => push.close());
  beforeEach(async () => {
    rig = await ClockRig.start(push, opts);
    use(rig);
  });
  afterEach(() => rig?.stop());
}
