import type { CaseDoc } from '../../server/cases/models';
import { loadPlaybook } from '../../server/cases/playbook';
import { caseClocks, slaBreached } from '../../server/cases/deadlines';

/** A clock met or stopped after its deadline still counts as a breached SLA (the register's filter). */

const MIN = 60_000;
const T0 = new Date('2026-05-04T09:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * MIN);
const playbook = loadPlaybook();

const sev1 = (clock: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({
    key: 'INC-2026-0001',
    type: 'INC',
    severity: 'SEV1',
    status: 'Triage',
    personalData: false,
    firstSeenAt: T0,
    clock: { pausedMs: 0, ...clock },
    ...extra,
  }) as unknown as CaseDoc;

describe('when a SEV1 case was answered', () => {
  it.each([
    ['within its 15 minutes', 14, false],
    ['at its deadline exactly', 15, true],
    ['after its deadline', 40, true],
  ])('%s, then the response clock is met, and late only when the deadline had passed', (_, minutes, late) => {
    const doc = sev1({ respondedAt: at(minutes as number) });
    const response = caseClocks(doc, playbook, at(60)).find((c) => c.kind === 'response')!;
    expect(response).toMatchObject({ state: 'met', doneAt: at(minutes as number) });
    expect(!!response.late).toBe(late);
    // Answered late, the case stays in the SLA-breached register for good.
    expect(
      slaBreached(
        { ...doc, status: 'InProgress', clock: { ...doc.clock, lastUpdateAt: at(59) } } as CaseDoc,
        playbook,
        at(60),
      ),
    ).toBe(late);
  });
});

describe('when the authority was notified of a breach', () => {
  it('then the breach clock is stopped, and late only when notified after 72 hours', () => {
    const notified = (hours: number) =>
      sev1(
        {
          respondedAt: at(1),
          lastUpdateAt: at(hours * 60 - 1),
          authorityNotified: { at: at(hours * 60), reference: 'R-1' },
        },
        { type: 'DAT', severity: 'SEV3' },
      );
    const onTime = caseClocks(notified(70), playbook, at(80 * 60)).find((c) => c.kind === 'breach')!;
    const late = caseClocks(notified(75), playbook, at(80 * 60)).find((c) => c.kind === 'breach')!;
    expect([onTime.state, !!onTime.late, late.state, !!late.late]).toEqual([
      'stopped',
      false,
      'stopped',
      true,
    ]);
  });
});
