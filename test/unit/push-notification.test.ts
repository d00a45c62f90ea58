import {
  ackFailedNotification,
  acknowledgedNotification,
  notificationFor,
  parsePayload,
} from '../../pwa/src/sw/notify';

// What a push notification says, from the desk's payload alone (pwa/src/sw/notify.ts).

const payload = (p: Record<string, unknown>) => parsePayload(JSON.stringify(p));

describe('when an urgent case is paged', () => {
  it('then the notification names the key, the severity and the alert, and offers Acknowledge', () => {
    const { title, options } = notificationFor(
      payload({ alert: 'urgent-case', key: 'INC-2026-007', severity: 'SEV1', url: '/#/case/INC-2026-007' }),
    );
    expect(title).toBe('SEV1 INC-2026-007: urgent case');
    expect(options).toMatchObject({
      tag: 'case-INC-2026-007',
      renotify: true,
      requireInteraction: true,
      actions: [{ action: 'ack', title: 'Acknowledge' }],
      data: { alert: 'urgent-case', key: 'INC-2026-007', url: '/#/case/INC-2026-007' },
    });
  });
});

describe('when a clock that acknowledging does not stop reminds', () => {
  it('then there is no Acknowledge button, and a review reminder does not ring again', () => {
    const update = notificationFor(
      payload({ alert: 'update-due', key: 'INC-2026-007', severity: 'SEV2', url: '/' }),
    );
    expect(update.title).toBe('SEV2 INC-2026-007: update due soon');
    expect(update.options).toMatchObject({ renotify: true, requireInteraction: false, actions: undefined });
    const review = notificationFor(payload({ alert: 'review-due', key: 'INC-2026-007', url: '/' }));
    expect(review.title).toBe('INC-2026-007: post-incident review due');
    expect(review.options.renotify).toBe(false);
  });
});

describe('when the payload is a test, odd, or hostile', () => {
  it('then a test notification has its own tag', () => {
    const { title, options } = notificationFor(payload({ alert: 'test', url: '/#/settings' }));
    expect({ title, tag: options.tag, url: options.data.url }).toEqual({
      title: 'Tocsin: test notification',
      tag: 'tocsin-test',
      url: '/#/settings',
    });
  });

  it('then a tap never leaves the desk, and nothing but a key-shaped key reaches the title', () => {
    expect(payload({ alert: 'escalation', key: 'INC-1', url: 'https://evil.example/' }).url).toBe(
      '/#/case/INC-1',
    );
    expect(payload({ alert: 'escalation', key: 'INC-1', url: '//evil.example/' }).url).toBe('/#/case/INC-1');
    const odd = payload({
      alert: 'urgent-case',
      key: 'Your password <b>now</b>',
      severity: 'SEV1 please',
      url: '/',
    });
    expect(odd).toMatchObject({ key: undefined, severity: undefined });
    expect(notificationFor(odd).title).toBe('Tocsin');
  });

  it('then a push that is not JSON still shows something to open', () => {
    expect(notificationFor(parsePayload('not json')).options).toMatchObject({ tag: 'tocsin-unknown' });
    expect(notificationFor(parsePayload(null)).options.data.url).toBe('/');
  });
});

describe('when the page was taken from the notification', () => {
  const p = payload({
    alert: 'urgent-case',
    key: 'INC-2026-007',
    severity: 'SEV1',
    url: '/#/case/INC-2026-007',
  });

  it('then a quiet confirmation replaces it, with no button, under the same tag', () => {
    const { title, options } = acknowledgedNotification(p);
    expect({ title, tag: options.tag, silent: options.silent, actions: options.actions }).toEqual({
      title: 'INC-2026-007 acknowledged',
      tag: 'case-INC-2026-007',
      silent: true,
      actions: undefined,
    });
  });

  it('then a refusal says why, and stays', () => {
    const { title, options } = ackFailedNotification(p, 'Sign in to Tocsin on this phone first.');
    expect(title).toBe('INC-2026-007 not acknowledged');
    expect(options.body).toBe('Sign in to Tocsin on this phone first. Tap to open the case.');
    expect(options.requireInteraction).toBe(true);
  });
});
