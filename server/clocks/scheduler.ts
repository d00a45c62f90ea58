import { person } from '../cases/person';
import mongoose, { Schema } from 'mongoose';
import { randomUUID } from 'node:crypto';
import type { UserDoc } from '../auth/users';
import { onCaseChanged } from '../cases/feed';
import { TimelineEntry, type CaseDoc } from '../cases/models';
import type { Playbook } from '../cases/playbook';
import { registerCases } from '../cases/register-cache';
import { isDuplicateKey } from '../db/connection';
import { acquireLease, releaseLease } from '../db/lease';
import type { Logger } from '../lib/logger';
import type { Pager } from '../push/pager';
import { dueAlerts, type Alert } from '../cases/deadlines';
import { audienceOf, inQuietHours } from './oncall';

/**
 * Fires the clocks' alerts. The deadlines are not timers: each tick works them out again from the
 * cases (cases/deadlines.ts), so a restart loses nothing. One instance fires at a time, under a lease; and
 * each alert reaches each member once, because sending to them is claimed first by inserting
 * `<case>|<alert>|<member>`, which only one insert can do, on MongoDB and FerretDB alike.
 *
 * A claim is marked sent once the push service answered. A claim still `sending` when an instance
 * takes the lease over belonged to one that died mid-send: it is sent again (the notification's
 * tag per case makes a repeat replace the first on the phone), so a crash never loses an alert.
 *
 * Alerts that can wait (not urgent) are held for members in their quiet hours and go out when
 * those end, while the alert is still the clock's latest. An alert older than `lateLimitMs` is not
 * sent to anyone who has not had it yet (a member added last week is not paged for last week).
 */

const AlertClaim = mongoose.model(
  'AlertClaim',
  new Schema(
    {
      _id: String,
      caseKey: String,
      alertId: String,
      userId: String,
      state: { type: String, enum: ['sending', 'sent'] },
      holder: String,
      at: Date,
    },
    { versionKey: false },
  ),
  'alert_claims',
);

export interface SchedulerOptions {
  /** The clock: tests move it on instead of waiting. */
  now: () => Date;
  tickMs: number;
  leaseTtlMs: number;
  lateLimitMs: number;
}

export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = {
  now: () => new Date(),
  tickMs: 1000,
  leaseTtlMs: 15_000,
  lateLimitMs: 16 * 3600_000,
};

export interface SchedulerDeps {
  pager: Pager;
  playbook: Playbook;
  log: Logger;
  instanceId: string;
}

/** What one tick did, for tests and logs. */
export interface TickReport {
  leader: boolean;
  sent: { caseKey: string; alertId: string; kind: string; to: string[] }[];
  held: { caseKey: string; alertId: string; userId: string }[];
}

const LEASE = 'clock-scheduler';
/** How long a change waits for others before the scheduler looks (well inside a second). */
const CHANGE_DELAY_MS = 200;
const claimId = (caseKey: string, alertId: string, userId: string) => `${caseKey}|${alertId}|${userId}`;

export class ClockScheduler {
  private readonly opts: SchedulerOptions;
  private timer?: ReturnType<typeof setInterval>;
  private soon?: ReturnType<typeof setTimeout>;
  private running?: Promise<TickReport>;
  private again = false;
  private leader = false;
  private stopListening?: () => void;
  /** Alerts every member of their audience has had: not looked at again in this process. */
  private readonly finished = new Set<string>();
  /** Each case's due alerts as last worked out (see dueOf). */
  private readonly plans = new WeakMap<CaseDoc, { at: number; nextAt?: number; due: Alert[] }>();
  private renewedAt = 0;

  constructor(
    private readonly deps: SchedulerDeps,
    opts: Partial<SchedulerOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SCHEDULER_OPTIONS, ...opts };
  }

  start(): void {
    this.timer = setInterval(() => void this.wake(), this.opts.tickMs);
    // A case changed here (a new urgent report): look soon rather than at the next tick. Changes
    // coming in a burst (a backlog being read) share one look, so intake is not slowed by it.
    this.stopListening = onCaseChanged(() => {
      this.soon ??= setTimeout(() => {
        this.soon = undefined;
        void this.wake();
      }, CHANGE_DELAY_MS);
    });
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.stopListening?.();
    await this.running?.catch(() => undefined);
    if (this.leader) await releaseLease(LEASE, this.deps.instanceId).catch(() => undefined);
    this.leader = false;
  }

  /** Runs a tick now, or right after the one under way. */
  wake(): Promise<TickReport | void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.tick()
      .catch((err: unknown) => {
        this.deps.log.error({ err }, 'clock tick failed');
        return { leader: this.leader, sent: [], held: [] };
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          void this.wake();
        }
      });
    return this.running;
  }

  /** One pass over every case's clocks. Exported for tests, which call it with a moved clock. */
  async tick(): Promise<TickReport> {
    const report: TickReport = { leader: false, sent: [], held: [] };
    const wasLeader = this.leader;
    // The holder renews a third of the way through its lease, not on every tick.
    const fresh = this.leader && Date.now() - this.renewedAt < this.opts.leaseTtlMs / 3;
    if (!fresh) {
      this.leader = await acquireLease(LEASE, this.deps.instanceId, this.opts.leaseTtlMs);
      if (this.leader) this.renewedAt = Date.now();
    }
    report.leader = this.leader;
    if (!this.leader) return report;
    if (!wasLeader) await this.resendUnfinished(report);
    const now = this.opts.now();
    for (const doc of await registerCases()) {
      for (const alert of this.dueOf(doc, now)) {
        const done = `${doc.key}|${alert.id}`;
        if (this.finished.has(done)) continue;
        if (await this.fire(doc, alert, now, report)) this.finished.add(done);
      }
    }
    return report;
  }

  /**
   * The case's due alerts, worked out again only when the case changed (the register cache hands
   * out a new object then) or the next alert's time has come: a tick over ten thousand cases is
   * then a pass over a map, not ten thousand reckonings.
   */
  private dueOf(doc: CaseDoc, now: Date): Alert[] {
    const t = now.getTime();
    const known = this.plans.get(doc);
    if (known && t >= known.at && (known.nextAt === undefined || t < known.nextAt)) return known.due;
    const { due, nextAt } = dueAlerts(doc, this.deps.playbook, now);
    this.plans.set(doc, { at: t, nextAt: nextAt?.getTime(), due });
    return due;
  }

  /** Sends the alert to each of its audience not yet claimed; true when nobody is left waiting. */
  private async fire(doc: CaseDoc, alert: Alert, now: Date, report: TickReport): Promise<boolean> {
    if (now.getTime() - alert.at.getTime() > this.opts.lateLimitMs) return true;
    const audience = await audienceOf(alert.audience, doc, now);
    const claimed: UserDoc[] = [];
    let waiting = false;
    for (const user of audience) {
      if (!alert.urgent && inQuietHours(user, now)) {
        waiting = true;
        report.held.push({ caseKey: doc.key, alertId: alert.id, userId: String(user._id) });
        continue;
      }
      if (await this.claim(doc.key, alert.id, String(user._id))) claimed.push(user);
    }
    if (claimed.length) await this.send(doc, alert, claimed, report);
    return !waiting;
  }

  private async claim(caseKey: string, alertId: string, userId: string): Promise<boolean> {
    try {
      await AlertClaim.create({
        _id: claimId(caseKey, alertId, userId),
        caseKey,
        alertId,
        userId,
        state: 'sending',
        holder: this.deps.instanceId,
        at: new Date(),
      });
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  private async send(doc: CaseDoc, alert: Alert, users: UserDoc[], report: TickReport): Promise<void> {
    const ids = users.map((u) => String(u._id));
    const results = await this.deps.pager.toMembers(
      ids,
      {
        alert: alert.kind,
        key: doc.key,
        severity: doc.severity,
        url: `/#/case/${encodeURIComponent(doc.key)}`,
        id: alert.id,
      },
      { urgent: alert.urgent, topic: doc.key },
    );
    const reached = new Set(results.map((r) => r.userId));
    // On the timeline, without touching the case: an alert is not a change to it.
    await TimelineEntry.create({
      _id: `alert:${doc.key}:${randomUUID()}`,
      caseKey: doc.key,
      kind: 'alert',
      at: new Date(),
      alert: {
        id: alert.id,
        kind: alert.kind,
        clock: alert.clock,
        audience: alert.audience,
        urgent: alert.urgent,
        dueAt: alert.at,
        recipients: users.map(person),
        unreachable: users.filter((u) => !reached.has(String(u._id))).map(person),
        results,
      },
    });
    await AlertClaim.updateMany(
      { _id: { $in: ids.map((id) => claimId(doc.key, alert.id, id)) } },
      { $set: { state: 'sent' } },
    );
    report.sent.push({ caseKey: doc.key, alertId: alert.id, kind: alert.kind, to: ids });
    this.deps.log.info(
      { caseKey: doc.key, alert: alert.id, members: ids.length, devices: results.length },
      'alert sent',
    );
  }

  /** On taking the lease: alerts a previous holder claimed but did not finish sending. */
  private async resendUnfinished(report: TickReport): Promise<void> {
    const stuck = await AlertClaim.find({ state: 'sending', holder: { $ne: this.deps.instanceId } }).lean<
      { _id: string; caseKey: string; alertId: string; userId: string }[]
    >();
    const now = this.opts.now();
    const cases = new Map((await registerCases()).map((c) => [c.key, c]));
    for (const claim of stuck) {
      const doc = cases.get(claim.caseKey);
      const alert = doc && dueAlerts(doc, this.deps.playbook, now).due.find((a) => a.id === claim.alertId);
      if (doc && alert) {
        const users = await audienceOf(alert.audience, doc, now);
        const user = users.find((u) => String(u._id) === claim.userId);
        if (user) {
          await this.send(doc, alert, [user], report);
          continue;
        }
      }
      // The alert is no longer due (acknowledged, superseded): nothing to send.
      await AlertClaim.updateOne({ _id: claim._id }, { $set: { state: 'sent' } });
    }
  }
}
