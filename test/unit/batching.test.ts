import { mayFollowUp, sizeBatches } from '../../server/mail/batching';

const sized = (...sizes: number[]) => sizes.map((size, uid) => ({ uid, size }));
const uids = (batches: { uid: number }[][]) => batches.map((b) => b.map((m) => m.uid));

describe('sizeBatches', () => {
  it('when messages are small, then batches are cut at maxCount', () => {
    const batches = [...sizeBatches(sized(1, 1, 1, 1, 1), { maxCount: 2, maxBytes: 100, cap: 50 })];
    expect(uids(batches)).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('when bytes would pass maxBytes, then a new batch starts, but a single big message still gets one', () => {
    const batches = [...sizeBatches(sized(40, 40, 90, 20), { maxCount: 10, maxBytes: 100, cap: 95 })];
    expect(uids(batches)).toEqual([[0, 1], [2], [3]]);
  });

  it('when a message is over the cap, then it weighs nothing, since only its headers are fetched', () => {
    const batches = [...sizeBatches(sized(60, 1000, 30), { maxCount: 10, maxBytes: 100, cap: 500 })];
    expect(uids(batches)).toEqual([[0, 1, 2]]);
  });
});

describe('mayFollowUp', () => {
  const mail = (...head: string[]) =>
    Buffer.from([...head, 'From: a@example.org', '', 'Body.', ''].join('\r\n'));

  it('when a message answers or forwards another, then it may follow up; a fresh report does not', () => {
    expect(mayFollowUp(mail('In-Reply-To: <a@x.org>'))).toBe(true);
    expect(mayFollowUp(mail('References: <a@x.org>'))).toBe(true);
    expect(mayFollowUp(mail('Subject: AW: Drucker'))).toBe(true);
    expect(mayFollowUp(mail('Subject: Fwd: phishing?'))).toBe(true);
    expect(mayFollowUp(mail('Content-Type: multipart/mixed; boundary=x'))).toBe(false);
    expect(
      mayFollowUp(
        Buffer.concat([mail('Subject: see attached'), Buffer.from('Content-Type: message/rfc822\r\n')]),
      ),
    ).toBe(true);
    expect(mayFollowUp(mail('Subject: Regarding the printer'))).toBe(false);
  });
});
