import { inQuietHours, localTime, type QuietHours } from '../../server/clocks/oncall';

const utc = (s: string) => new Date(`${s}Z`);
const quiet = (start: string, end: string, timeZone = 'Europe/Berlin') => ({
  quietHours: { start, end, timeZone } satisfies QuietHours,
});
const hm = (h: number, m = 0) => h * 60 + m;

describe('local time in a zone', () => {
  it.each([
    ['UTC', '2026-05-04T09:30:00', 1, hm(9, 30)],
    ['Europe/Berlin', '2026-01-15T12:00:00', 4, hm(13)],
    ['Europe/Berlin', '2026-07-15T12:00:00', 3, hm(14)],
    ['America/Los_Angeles', '2026-01-05T03:00:00', 0, hm(19)],
    ['Pacific/Auckland', '2026-01-10T20:00:00', 0, hm(9)],
    ['Asia/Kolkata', '2026-05-04T00:00:00', 1, hm(5, 30)],
    ['Asia/Kathmandu', '2026-05-04T00:00:00', 1, hm(5, 45)],
  ])('when it is %s at %s UTC, then the weekday is %i and the minute %i', (tz, at, day, minute) => {
    expect(localTime(utc(at), tz)).toEqual({ day, minute });
  });

  it('when a week passes, then the weekdays run 0 (Sunday) to 6 (Saturday)', () => {
    const days = [3, 4, 5, 6, 7, 8, 9].map((d) => localTime(utc(`2026-05-0${d}T12:00:00`), 'UTC').day);
    expect(days).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('when it is midnight or the last minute of a day, then the minute is 0 or 1439 (never 1440)', () => {
    expect(localTime(utc('2026-05-04T00:00:00'), 'UTC')).toEqual({ day: 1, minute: 0 });
    expect(localTime(utc('2026-05-09T23:59:59'), 'UTC')).toEqual({ day: 6, minute: 1439 });
    expect(localTime(utc('2026-05-03T22:00:00'), 'Europe/Berlin')).toEqual({ day: 1, minute: 0 });
  });

  it('when Berlin springs forward on 2026-03-29, then 01:59 CET is followed by 03:00 CEST', () => {
    expect(localTime(utc('2026-03-29T00:59:00'), 'Europe/Berlin')).toEqual({ day: 0, minute: hm(1, 59) });
    expect(localTime(utc('2026-03-29T01:00:00'), 'Europe/Berlin')).toEqual({ day: 0, minute: hm(3) });
    expect(localTime(utc('2026-03-30T12:00:00'), 'Europe/Berlin')).toEqual({ day: 1, minute: hm(14) });
  });

  it('when Berlin falls back on 2026-10-25, then 02:30 happens twice', () => {
    expect(localTime(utc('2026-10-25T00:30:00'), 'Europe/Berlin')).toEqual({ day: 0, minute: hm(2, 30) });
    expect(localTime(utc('2026-10-25T01:30:00'), 'Europe/Berlin')).toEqual({ day: 0, minute: hm(2, 30) });
  });

  it('when New York springs forward on 2026-03-08, then 01:59 EST is followed by 03:00 EDT', () => {
    expect(localTime(utc('2026-03-08T06:59:00'), 'America/New_York')).toEqual({ day: 0, minute: hm(1, 59) });
    expect(localTime(utc('2026-03-08T07:00:00'), 'America/New_York')).toEqual({ day: 0, minute: hm(3) });
  });
});

describe('quiet hours', () => {
  it.each([
    ['absent', {}],
    ['null', { quietHours: null }],
    ['without a time zone', { quietHours: { start: '00:00', end: '00:00' } }],
    ['without a start', { quietHours: { end: '07:00', timeZone: 'UTC' } }],
  ])('when quiet hours are %s, then the member is never in them', (_, user) => {
    expect(inQuietHours(user, utc('2026-05-04T03:00:00'))).toBe(false);
  });

  it.each([
    ['2026-05-04T06:59:00', false], // 08:59 in Berlin (CEST)
    ['2026-05-04T07:00:00', true], // 09:00: the start counts
    ['2026-05-04T14:59:00', true], // 16:59
    ['2026-05-04T15:00:00', false], // 17:00: the end does not
    ['2026-05-04T22:00:00', false], // 00:00 the next day
  ])('when quiet hours are 09:00–17:00 in Berlin and it is %s UTC, then quiet is %s', (at, expected) => {
    expect(inQuietHours(quiet('09:00', '17:00'), utc(at))).toBe(expected);
  });

  it.each([
    ['2026-05-04T21:30:00', true], // 23:30 in Berlin
    ['2026-05-05T01:00:00', true], // 03:00, past midnight
    ['2026-05-05T10:00:00', false], // 12:00
    ['2026-05-04T20:00:00', true], // 22:00: the start counts
    ['2026-05-04T19:59:00', false], // 21:59
    ['2026-05-05T04:59:00', true], // 06:59
    ['2026-05-05T05:00:00', false], // 07:00: the end does not
    ['2026-05-09T22:30:00', true], // Sunday 00:30, across the weekend
  ])('when quiet hours are 22:00–07:00 in Berlin and it is %s UTC, then quiet is %s', (at, expected) => {
    expect(inQuietHours(quiet('22:00', '07:00'), utc(at))).toBe(expected);
  });

  it('when quiet hours start and end at the same time, then they last all day', () => {
    for (const at of [
      '2026-05-04T00:00:00',
      '2026-05-04T05:59:00',
      '2026-05-04T06:00:00',
      '2026-05-04T17:45:00',
    ])
      expect(inQuietHours(quiet('08:00', '08:00'), utc(at))).toBe(true);
    expect(inQuietHours(quiet('00:00', '00:00', 'UTC'), utc('2026-05-04T23:59:00'))).toBe(true);
  });

  it('when the same instant is night in one zone and day in another, then only the first is quiet', () => {
    const at = utc('2026-05-04T16:00:00'); // 18:00 in Berlin, 01:00 the next day in Tokyo

    expect(inQuietHours(quiet('22:00', '07:00', 'Asia/Tokyo'), at)).toBe(true);
    expect(inQuietHours(quiet('22:00', '07:00', 'Europe/Berlin'), at)).toBe(false);
  });

  it('when Berlin springs forward, then the same UTC morning hour is quiet one day and not the next', () => {
    // 05:30 UTC is 06:30 CET on Saturday but 07:30 CEST on Sunday, past the end of 22:00–07:00.
    expect(inQuietHours(quiet('22:00', '07:00'), utc('2026-03-28T05:30:00'))).toBe(true);
    expect(inQuietHours(quiet('22:00', '07:00'), utc('2026-03-29T05:30:00'))).toBe(false);
  });
});
