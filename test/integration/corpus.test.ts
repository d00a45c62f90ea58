import path from 'node:path';
import { parseMessage } from '../../server/mail/parse';
import { startConversationRig, type ConversationRig } from '../support/conversation';
import { accountFor, deliverCorpus, readCorpus } from '../support/corpus';

const CORPUS = path.resolve(__dirname, '..', 'fixtures', 'sisimai', 'maildir');
const files = readCorpus(CORPUS, ['bsd', 'not']);

let rig: ConversationRig;
beforeAll(async () => {
  rig = await startConversationRig();
});
afterAll(() => rig.stop());

describe('when every message of the sisimai corpus arrives in the mailbox of a desk that can send mail', () => {
  it('then each one is on a case or in quarantine, no robot gets mail, and the two people get one acknowledgement each', async () => {
    expect(files.length).toBe(632);
    await deliverCorpus(rig.deskBox, files, 300_000);
    expect(rig.desk.poller!.status().state).not.toBe('backoff');

    const found = await accountFor(rig.deskBox, files);
    expect(found.filter((m) => m.on === 'nowhere').map((m) => m.name)).toEqual([]);
    // Only the two people open cases; every bounce, DSN, auto-reply and report is held back.
    // (The name, and how it got there, printed when it should not have.)
    const shown = found.flatMap((m) =>
      m.on !== 'case'
        ? []
        : m.name.startsWith('not/is-not')
          ? [m.name]
          : [`${m.name} → ${m.caseKey} ${JSON.stringify(m.route)}`],
    );
    expect(shown.sort()).toEqual(['not/is-not-bounce-01.eml', 'not/is-not-bounce-02.eml']);

    // Give the outbox time to send anything it (wrongly) queued.
    await new Promise((r) => setTimeout(r, 3_000));
    const sent = rig.sentByDesk();
    expect(sent.map((m) => m.to).sort()).toEqual([['dummy@example.com'], ['shironeko@example.com']]);
    for (const m of sent)
      expect((await parseMessage(m.raw)).subject).toMatch(
        /^\[[A-Z]{2,6}-\d{4}-\d{3}\] We received your report/,
      );
  }, 900_000);
});
