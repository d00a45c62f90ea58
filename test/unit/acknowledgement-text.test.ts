import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEFAULT_PLAYBOOK_FILE,
  PlaybookError,
  loadPlaybook,
  type Playbook,
  type RequiredField,
  type TypeDef,
} from '../../server/cases/playbook';
import { compileHint } from '../../server/cases/hints';
import {
  acknowledgement,
  missingFromReport,
  type AckInput,
  type AckReport,
} from '../../server/conversation/acknowledgement-text';

let playbook: Playbook;

beforeAll(() => {
  playbook = loadPlaybook();
});

const type = (key: string): TypeDef => playbook.types[key]!;
const report = (r: Partial<AckReport>): AckReport => ({ subject: '', text: '', attachmentCount: 0, ...r });
const ids = (fields: RequiredField[]) => fields.map((f) => f.id);

const MARKER = '-- Tocsin ref DEV-2026-001 k3J9aQ --';
const ack = (i: Partial<AckInput>) =>
  acknowledgement({
    caseKey: 'DEV-2026-001',
    typeName: 'Personal device security case',
    reporterName: 'Marta S.',
    subject: 'I lost my laptop',
    missing: [],
    urgent: false,
    replyMarker: MARKER,
    ...i,
  });

describe('missingFromReport with the default playbook: personal devices', () => {
  it('when a DEV report only says "I lost my laptop", then it asks for use, accounts, files and actions, not the device', () => {
    const missing = missingFromReport(
      type('DEV'),
      report({ subject: 'Lost laptop', text: 'I lost my laptop.' }),
    );

    expect(ids(missing)).toEqual(['lastKnownUse', 'accountsUsed', 'localFiles', 'immediateActions']);
  });

  it('when a DEV report gives everything, then nothing is missing and the acknowledgement asks nothing', () => {
    const text = [
      'My work laptop, a MacBook Air, was stolen from my bag on the train.',
      'I last used it yesterday around 18:30 to read the committee Gmail and post on our Facebook page.',
      'A few spreadsheets were saved in Downloads.',
      'I have already changed my passwords from my phone and asked Apple to remotely lock it.',
    ].join('\n');

    const missing = missingFromReport(type('DEV'), report({ subject: 'Stolen laptop', text }));
    const mail = ack({ missing });

    expect(missing).toEqual([]);
    expect(mail.text).not.toContain('To help us');
    expect(mail.html).not.toContain('<ol>');
  });

  it('when words of a hint are split over a line break, in capitals, with a curly apostrophe, then they still match', () => {
    const text = 'Phone gone.\nWe have CHANGED ALL OUR\n   PASSWORDS. I haven’t done anything else.';

    const missing = missingFromReport(type('DEV'), report({ subject: 'Phone gone', text }));

    expect(ids(missing)).not.toContain('immediateActions');
    expect(ids(missing)).toContain('lastKnownUse');
  });

  it('when a hint word only appears inside a longer word, then it does not count', () => {
    // "pc" in "Pcmcia", "my" in "mystery", "lost" in "Lostwithiel": none gives the information.
    const missing = missingFromReport(
      type('DEV'),
      report({ subject: 'Pcmcia card', text: 'A mystery in Lostwithiel.' }),
    );

    expect(ids(missing)).toEqual(expect.arrayContaining(['deviceType', 'owner', 'suspectedCause']));
  });
});

describe('missingFromReport with the default playbook: phishing reports', () => {
  it('when the suspicious message is attached, then the original is not asked for', () => {
    const missing = missingFromReport(
      type('PHI'),
      report({
        subject: 'Fwd: Your mailbox is full',
        text: 'Is this real? I did not click anything.',
        attachmentCount: 1,
      }),
    );

    expect(ids(missing)).toEqual(['credentialsEntered', 'attachmentsOpened']);
  });

  it('when the original is forwarded inline, then it counts as given and its lure words answer nothing', () => {
    const text = [
      'This looks fake to me.',
      '',
      '---------- Forwarded message ---------',
      'From: IT Support <helpdesk@mailbox-upgrade.example>',
      'Date: Mon, 27 Apr 2026 at 09:12',
      'Subject: Action required',
      '',
      'We noticed you signed in from a new device. Your invoice was downloaded 3 times.',
      'If this was not you, click here and enter your password.',
    ].join('\n');

    const missing = missingFromReport(type('PHI'), report({ subject: 'Fwd: Action required', text }));

    expect(ids(missing)).toEqual(['linkClicked', 'credentialsEntered', 'attachmentsOpened']);
  });

  it('when an Outlook-style forward has no marker line, then its header block still counts as the original', () => {
    const text = [
      'Got this today, did not click.',
      '________________________________',
      'From: Payroll <pay@example.net>',
      'Sent: Monday, April 27, 2026 9:12 AM',
      'To: Marta',
      'Subject: Your salary slip',
    ].join('\n');

    const missing = missingFromReport(type('PHI'), report({ subject: 'Suspicious', text }));

    expect(ids(missing)).toEqual(['credentialsEntered', 'attachmentsOpened']);
  });

  it('when nothing was forwarded or attached, then the original is asked for first', () => {
    const missing = missingFromReport(
      type('PHI'),
      report({ subject: 'Phishing?', text: 'I got a weird email.' }),
    );

    expect(ids(missing)[0]).toBe('originalMessage');
  });
});

describe('missingFromReport with the default playbook: support requests', () => {
  it('when a SUP report says nothing, then every field is asked except the requester, who is known from the email', () => {
    const missing = missingFromReport(type('SUP'), report({ subject: 'Help' }));

    expect(ids(missing)).toEqual([
      'service',
      'summary',
      'stepsToReproduce',
      'visibleImpact',
      'desiredDate',
      'screenshotsOrLinks',
    ]);
    expect(type('SUP').requiredFields.find((f) => f.id === 'requester')?.fromEmail).toBe(true);
  });

  it('when a SUP report has a link or an attachment, then screenshots or links are not asked for', () => {
    const withLink = missingFromReport(type('SUP'), report({ text: 'See https://status.example.org/now' }));
    const withFile = missingFromReport(type('SUP'), report({ attachmentCount: 1 }));

    expect(ids(withLink)).not.toContain('screenshotsOrLinks');
    expect(ids(withFile)).not.toContain('screenshotsOrLinks');
  });

  it('when the seed sample request is sent, then only the desired date and screenshots are asked for', () => {
    const missing = missingFromReport(
      type('SUP'),
      report({
        subject: 'Password reset email is not reaching some members',
        text:
          'Open reset form, submit account email, wait 10 minutes, no message arrives.\n' +
          'Members cannot recover access without manual help.',
      }),
    );

    expect(ids(missing)).toEqual(['desiredDate', 'screenshotsOrLinks']);
  });

  it('when a SUP report has no steps, then they are asked for', () => {
    const missing = missingFromReport(
      type('SUP'),
      report({
        subject: 'Member area',
        text: 'The calendar in the member area shows the wrong month for everyone.',
      }),
    );

    expect(ids(missing)).toEqual(['stepsToReproduce', 'desiredDate', 'screenshotsOrLinks']);
  });

  it('when the answering words come after the first 100 000 characters, then they are not seen', () => {
    const text = `${'Nothing to say here. '.repeat(5000)}\nThe website is broken, see the screenshot.`;

    const missing = missingFromReport(type('SUP'), report({ subject: 'Hm', text }));

    expect(text.indexOf('website')).toBeGreaterThan(100_000);
    expect(ids(missing)).toEqual(expect.arrayContaining(['service', 'visibleImpact', 'screenshotsOrLinks']));
  });
});

describe('the default playbook: questions and hints', () => {
  it('when any required field is read, then it has a question, and every askable field can be found in a report', () => {
    for (const [key, t] of Object.entries(playbook.types)) {
      for (const f of t.requiredFields) {
        expect({ key, id: f.id, hasQuestion: Boolean(f.question?.trim()) }).toEqual({
          key,
          id: f.id,
          hasQuestion: true,
        });
        if (!f.fromEmail)
          expect({ key, id: f.id, findable: Boolean(f.hints?.length || f.presentWhen?.length) }).toEqual({
            key,
            id: f.id,
            findable: true,
          });
      }
    }
  });

  it('when every default hint is compiled, then none falls back to plain text', () => {
    const literal = Object.values(playbook.types)
      .flatMap((t) => t.requiredFields.flatMap((f) => f.hints ?? []))
      .filter((h) => compileHint(h).literal);

    expect(literal).toEqual([]);
  });
});

describe('admin hints', () => {
  const custom = (hints: string[]): TypeDef => ({
    name: 'Custom',
    defaultSeverity: 'SEV3',
    restricted: false,
    requiredFields: [{ id: 'language', label: 'Language', question: 'Which language?', hints }],
  });

  it('when a hint is not a valid regular expression, then nothing throws and it matches as plain text', () => {
    const t = custom(['c++', '([unclosed', 'x{2,1}']);

    expect(compileHint('([unclosed').literal).toBe(true);
    expect(missingFromReport(t, report({ text: 'Our tool is written in C++.' }))).toEqual([]);
    expect(missingFromReport(t, report({ text: 'see ([unclosed here' }))).toEqual([]);
    expect(ids(missingFromReport(t, report({ text: 'cxx and ccc' })))).toEqual(['language']);
  });

  it('when a hint could backtrack catastrophically, then it is plain text and a hostile report is scanned quickly', () => {
    const t = custom(['(a+)+$', '(x|xx)*y']);
    const hostile = `${'a'.repeat(60_000)}!${'x'.repeat(40_000)}`;

    const started = Date.now();
    const missing = missingFromReport(t, report({ text: hostile }));
    const elapsed = Date.now() - started;

    expect(compileHint('(a+)+$').literal).toBe(true);
    expect(compileHint('(x|xx)*y').literal).toBe(true);
    expect(ids(missing)).toEqual(['language']);
    expect(elapsed).toBeLessThan(1000);
    expect(missingFromReport(t, report({ text: 'the pattern (a+)+$ itself' }))).toEqual([]);
  });

  it('when a hint repeats with .*, then the repetition reaches 20 characters and no further', () => {
    const t = custom(['changed.*password']);

    expect(compileHint('changed.*password').literal).toBe(false);
    expect(missingFromReport(t, report({ text: 'I changed the password.' }))).toEqual([]);
    expect(ids(missingFromReport(t, report({ text: `I changed ${'x'.repeat(30)} password.` })))).toEqual([
      'language',
    ]);
  });
});

describe('playbook files without questions or hints', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-ack-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (
    name: string,
    edit: (data: { types: Record<string, { requiredFields: unknown[] }> }) => void,
  ) => {
    const data = JSON.parse(fs.readFileSync(DEFAULT_PLAYBOOK_FILE, 'utf8'));
    edit(data);
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(data));
    return file;
  };

  it('when fields only have an id and a label, then the playbook loads and the acknowledgement asks by label', () => {
    const file = write('old.json', (data) => {
      for (const t of Object.values(data.types))
        t.requiredFields = (t.requiredFields as { id: string; label: string }[]).map(({ id, label }) => ({
          id,
          label,
        }));
    });

    const old = loadPlaybook(file);
    const missing = missingFromReport(
      old.types.SUP!,
      report({ subject: 'Help', text: 'The website is broken.' }),
    );
    const mail = ack({ missing });

    expect(ids(missing)).toEqual(old.types.SUP!.requiredFields.map((f) => f.id));
    expect(mail.text).toContain('1. Service\n2. Summary\n');
  });

  it('when a field names an unknown presence signal, then PlaybookError names the field', () => {
    const file = write('bad-signal.json', (data) => {
      (data.types.SUP!.requiredFields[0] as Record<string, unknown>).presentWhen = ['telepathy'];
    });

    expect(() => loadPlaybook(file)).toThrow(PlaybookError);
    expect(() => loadPlaybook(file)).toThrow(/invalid at types\.SUP\.requiredFields\.0\.presentWhen\.0/);
  });
});

describe('acknowledgement', () => {
  it('when a case is acknowledged, then the subject carries the key and the original subject', () => {
    expect(ack({}).subject).toBe('[DEV-2026-001] We received your report: I lost my laptop');
    expect(ack({ subject: '' }).subject).toBe('[DEV-2026-001] We received your report');
  });

  it('when the subject is long, then the mail subject is cut to 120 characters and keeps the key', () => {
    const mail = ack({ subject: 'word '.repeat(60).trim() });

    expect(mail.subject.length).toBeLessThanOrEqual(120);
    expect(mail.subject.startsWith('[DEV-2026-001] We received your report: word')).toBe(true);
    expect(mail.subject.endsWith('…')).toBe(true);
  });

  it('when a case is acknowledged, then the text thanks by name, gives the key and says what happens next', () => {
    const text = ack({}).text.replace(/\s+/g, ' ');

    expect(text).toMatch(/^Hello Marta S\., Thank you for reporting this\./);
    expect(text).toContain('We have opened case DEV-2026-001 (Personal device security case)');
    expect(text).toContain('If you reply to this email, your reply is added to the case');
    expect(text).toContain('please keep [DEV-2026-001] in the subject');
    expect(text).toContain(
      'The committee will look at it and get back to you within our usual response time.',
    );
    expect(text).toContain('You are not in trouble for reporting.');
    expect(text).toContain('Please do not delete anything that shows what happened');
    expect(text).not.toContain('on call');
  });

  it('when the case is urgent, then the text says someone on call was alerted', () => {
    const text = ack({ urgent: true }).text.replace(/\s+/g, ' ');

    expect(text).toContain('Someone on call has been alerted and will get back to you soon.');
    expect(text).not.toContain('usual response time');
  });

  it('when a response time is passed, then it is stated in plain words', () => {
    expect(ack({ urgent: true, responseMinutes: 15 }).text.replace(/\s+/g, ' ')).toContain(
      'soon (we aim to respond within 15 minutes).',
    );
    expect(ack({ responseMinutes: 4320 }).text.replace(/\s+/g, ' ')).toContain(
      'aims to get back to you within 3 days.',
    );
    expect(ack({ responseMinutes: 120 }).text.replace(/\s+/g, ' ')).toContain('within 2 hours.');
  });

  it('when the name is unknown or is an address, then the greeting has no name', () => {
    expect(ack({ reporterName: '' }).text).toMatch(/^Hello,\n/);
    expect(ack({ reporterName: 'marta@example.org' }).text).toMatch(/^Hello,\n/);
  });

  it('when information is missing, then the questions are numbered in playbook order after the request', () => {
    const missing = missingFromReport(
      type('DEV'),
      report({ subject: 'Lost laptop', text: 'I lost my laptop.' }),
    );

    const { text, html } = ack({ missing });

    const questions = text.slice(text.indexOf('To help us, could you reply with:'));
    expect(questions).toMatch(
      /^To help us, could you reply with:\n\n1\. When did you last use it for our work\?\n2\. /,
    );
    expect(questions).toContain('\n4. What have you done so far,');
    expect(html).toContain('<li>When did you last use it for our work?</li>');
    expect((html.match(/<li>/g) ?? []).length).toBe(4);
  });

  it('when the name and subject hold markup, then the HTML escapes every bit of it', () => {
    const { html, text } = ack({
      reporterName: '<script>alert(1)</script>',
      subject: '<script>alert("x")</script> & <img src=x onerror=alert(2)>',
    });

    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain('Hello &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(html).toContain(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(2)&gt;',
    );
    expect(text).toContain('Hello <script>alert(1)</script>,');
  });

  it('when the HTML is built, then it loads nothing remote and has no links', () => {
    const { html } = ack({ missing: type('PHI').requiredFields, urgent: true });

    expect(html).not.toMatch(/<a\b|href=|src=|url\(|https?:|<link|<img|@import/i);
    expect(html).not.toMatch(/click here/i);
  });

  it('when the subject carries a link, then it is echoed back defanged, never as a working link', () => {
    const mail = ack({
      subject: 'Verify at https://login.evil.example/reset now',
      reporterName: 'www.evil.example',
    });

    for (const part of [mail.subject, mail.text, mail.html]) {
      expect(part).not.toMatch(/https?:\/\/|evil\.example/);
    }
    expect(mail.subject).toContain('hxxps://login[.]evil[.]example/reset');
    expect(mail.text).toMatch(/^Hello,\n/);
  });

  it('when a line break hides in the subject, then the mail subject stays one line', () => {
    const mail = ack({ subject: 'Help\r\nBcc: everyone@example.org' });

    expect(mail.subject).not.toMatch(/[\r\n]/);
  });

  it('when the text is rendered, then the marker is the last line and every other line fits in 72 characters', () => {
    const missing = type('DAT').requiredFields;

    const { text, html } = ack({ missing, urgent: true, subject: 'Member list sent to the wrong person' });

    const lines = text.trimEnd().split('\n');
    expect(lines.at(-1)).toBe(MARKER);
    expect(lines.filter((l) => l.length > 72)).toEqual([]);
    expect(html).toMatch(/<p[^>]*>-- Tocsin ref DEV-2026-001 k3J9aQ --<\/p>\n<\/body>/);
  });

  it('when no questions are needed, then the marker is still the last line', () => {
    expect(ack({}).text.trimEnd().split('\n').at(-1)).toBe(MARKER);
  });
});
