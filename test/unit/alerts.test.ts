import {
  alertGroupId,
  alertSourceFor,
  alertSourcesOf,
  readAlert,
  type AlertSource,
} from '../../server/intake/alerts';

const source: AlertSource = { sender: '@uptime.example' };

describe('readAlert', () => {
  it.each([
    ['DOWN: shop.example.org', 'shop.example.org', false],
    ['UP: shop.example.org', 'shop.example.org', true],
    ['Monitor is DOWN: Shop', 'monitor is shop', false],
    ['Monitor is UP: Shop', 'monitor is shop', true],
    ['[FIRING:3] HighLatency api (prod)', 'highlatency api (prod)', false],
    ['[RESOLVED] HighLatency api (prod)', 'highlatency api (prod)', true],
    ['[Resolved: 2]  HighLatency   api (prod)', 'highlatency api (prod)', true],
    ['RECOVERED: backup job nightly', 'backup job nightly', true],
    ['Re: DOWN: shop.example.org', 'shop.example.org', false],
    ['Backup failed for db-1', 'backup failed for db-1', false],
    ['Uptime is fine, nothing is down', 'uptime is fine, nothing is down', false],
  ])('when the subject is %j, then the alert is %j, recovery %j', (subject, group, recovery) => {
    expect(readAlert(subject, [], source)).toEqual({ group, recovery });
  });

  it('when a summary both fires and resolves, then it is not a recovery', () => {
    expect(readAlert('[FIRING:1, RESOLVED:1] api', [], source).recovery).toBe(false);
    expect(readAlert('[FIRING:1] [RESOLVED] api', [], source).recovery).toBe(false);
  });

  it('when the source names a header, then its value names the alert, whatever the subject says', () => {
    const withHeader = { ...source, groupHeader: 'X-Monitor-Id' };
    const headers = [{ name: 'x-monitor-id', value: ' 4711 ' }];
    expect(readAlert('DOWN: Shop (check 1)', headers, withHeader)).toEqual({
      group: '4711',
      recovery: false,
    });
    expect(readAlert('UP: Shop', headers, withHeader)).toEqual({ group: '4711', recovery: true });
    expect(readAlert('UP: Shop', [], withHeader).group).toBe('shop');
  });

  it('then the firing and the recovery of an alert share one group id per sender, and senders do not share', () => {
    const down = readAlert('DOWN: shop', [], source).group;
    const up = readAlert('UP: shop', [], source).group;
    expect(alertGroupId('A@uptime.example', down)).toBe(alertGroupId('a@uptime.example', up));
    expect(alertGroupId('b@uptime.example', down)).not.toBe(alertGroupId('a@uptime.example', down));
  });
});

describe('alertSourceFor', () => {
  const sources = alertSourcesOf(
    ['@github.com', 'checks@uptime.example'],
    [{ sender: 'Checks@Uptime.example', type: 'INC', severity: 'SEV2' }],
  );

  it('then the playbook’s entry for a sender wins over the same one in ALERT_SENDERS', () => {
    expect(sources).toEqual([
      { sender: 'checks@uptime.example', type: 'INC', severity: 'SEV2' },
      { sender: '@github.com' },
    ]);
    expect(alertSourceFor('CHECKS@uptime.example', sources)?.type).toBe('INC');
  });

  it.each([
    ['noreply@github.com', '@github.com'],
    ['notifications@alerts.github.com', '@github.com'],
    ['someone@evilgithub.com', undefined],
    ['github.com@example.org', undefined],
    ['other@uptime.example', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('when mail is from %j, then its source is %j', (from, sender) => {
    expect(alertSourceFor(from, sources)?.sender).toBe(sender);
  });
});
