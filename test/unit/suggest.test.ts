import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_PLAYBOOK_FILE, PlaybookError, loadPlaybook } from '../../server/cases/playbook';
import { compilePlaybook, suggest, type CompiledPlaybook, type Report } from '../../server/cases/suggest';

let compiled: CompiledPlaybook;

beforeAll(() => {
  compiled = compilePlaybook(loadPlaybook());
});

const report = (r: Partial<Report>): Report => ({
  subject: '',
  text: '',
  headers: [],
  attachmentTypes: [],
  ...r,
});

describe('suggest with the default playbook: the seed examples', () => {
  it('when the website returns an error page and does not load, then INC SEV1 from the outage rule', () => {
    const r = report({
      subject: 'cafh.org public website',
      text: 'Website returns an error page and does not load. Public site unavailable.',
    });

    const s = suggest(r, compiled);

    expect(s.type).toBe('INC');
    expect(s.severity).toBe('SEV1');
    expect(s.reasons).toEqual(["INC SEV1 (outage): matched 'does not load', 'unavailable', 'error page'"]);
  });

  it('when the public site is down, then INC SEV1', () => {
    const s = suggest(report({ subject: 'Public site down' }), compiled);

    expect(s).toEqual({ type: 'INC', severity: 'SEV1', reasons: ["INC SEV1 (outage): matched 'site down'"] });
  });

  it('when the member area is very slow, then INC SEV2 from the degradation rule', () => {
    const s = suggest(report({ subject: 'Member area is very slow' }), compiled);

    expect(s).toEqual({
      type: 'INC',
      severity: 'SEV2',
      reasons: ["INC SEV2 (degradation): matched 'very slow'"],
    });
  });

  it('when the member area is degraded, then INC SEV2', () => {
    const s = suggest(report({ subject: 'Member area degraded', text: 'Pages take a minute.' }), compiled);

    expect(s.type).toBe('INC');
    expect(s.severity).toBe('SEV2');
    expect(s.reasons).toEqual(["INC SEV2 (degradation): matched 'degraded'"]);
  });

  it('when a phone was stolen, then DEV SEV2 with reasons naming stolen and phone', () => {
    const s = suggest(
      report({ subject: 'Personal phone', text: 'Phone was stolen during travel.' }),
      compiled,
    );

    expect(s.type).toBe('DEV');
    expect(s.severity).toBe('SEV2');
    expect(s.reasons).toEqual(["DEV SEV2 (device-lost-or-compromised): matched 'stolen', 'phone'"]);
  });

  it('when an export file with member data was sent to the wrong recipient, then DAT SEV1', () => {
    const s = suggest(
      report({
        subject: 'Export file sent to the wrong recipient',
        text: 'Member names, email addresses, and local group fields. Scope: 120 member records.',
      }),
      compiled,
    );

    expect(s.type).toBe('DAT');
    expect(s.severity).toBe('SEV1');
    expect(s.reasons).toHaveLength(1);
    expect(s.reasons[0]).toMatch(/^DAT SEV1 \(data-exposure\): matched /);
    expect(s.reasons[0]).toContain("'wrong recipient'");
    expect(s.reasons[0]).toContain("'export'");
  });

  it('when an unauthorized post appears on the official Facebook page, then ABU SEV2', () => {
    const s = suggest(
      report({
        subject: 'Unauthorized post on the official Facebook page',
        text: 'One public post with false event details.',
      }),
      compiled,
    );

    expect(s.type).toBe('ABU');
    expect(s.severity).toBe('SEV2');
    expect(s.reasons).toEqual([
      "ABU SEV2 (official-account-misuse): matched 'unauthorized post', 'official', 'facebook', 'page'",
    ]);
  });

  it('when someone reports a suspicious email as phishing, then PHI SEV3', () => {
    const s = suggest(
      report({ subject: 'Suspicious email', text: 'I think this is phishing, it asks for my password.' }),
      compiled,
    );

    expect(s.type).toBe('PHI');
    expect(s.severity).toBe('SEV3');
    expect(s.reasons).toEqual(["PHI SEV3 (phishing-words): matched 'phishing', 'suspicious email'"]);
  });

  it('when the report carries a message/rfc822 part, then PHI from the forwarded-message rule', () => {
    const s = suggest(
      report({ subject: 'Fwd: have a look', attachmentTypes: ['text/plain', 'Message/RFC822'] }),
      compiled,
    );

    expect(s.type).toBe('PHI');
    expect(s.severity).toBe('SEV3');
    expect(s.reasons).toEqual(["PHI SEV3 (forwarded-message): matched 'attachment Message/RFC822'"]);
  });

  it('when a plain support question matches no rule, then SUP SEV3 with a no-rule reason', () => {
    const s = suggest(
      report({
        subject: 'Password reset email is not reaching some members',
        text: 'Open reset form, submit account email, wait 10 minutes, no message arrives.',
      }),
      compiled,
    );

    expect(s).toEqual({ type: 'SUP', severity: 'SEV3', reasons: ['no rule matched: default type SUP'] });
  });
});

describe('suggest with the default playbook: urgent markers', () => {
  it('when the subject starts with [URGENT] and nothing else matches, then INC SEV2 with an urgent marker reason', () => {
    const s = suggest(report({ subject: '[URGENT] please call me back' }), compiled);

    expect(s).toEqual({
      type: 'INC',
      severity: 'SEV2',
      reasons: ["urgent marker: subject contains '[urgent]'"],
    });
  });

  it('when the message has Importance: high, then at least SEV2 with an urgent marker reason', () => {
    const s = suggest(
      report({ subject: 'question', headers: [{ name: 'Importance', value: 'High' }] }),
      compiled,
    );

    expect(s.severity).toBe('SEV2');
    expect(s.reasons).toEqual(['urgent marker: Importance: High']);
  });

  it('when the message has X-Priority: 1, then at least SEV2 with an urgent marker reason', () => {
    const s = suggest(
      report({ subject: 'question', headers: [{ name: 'X-PRIORITY', value: ' 1 ' }] }),
      compiled,
    );

    expect(s.severity).toBe('SEV2');
    expect(s.reasons).toEqual(['urgent marker: X-PRIORITY: 1']);
  });

  it('when X-Priority is 3, then it is not an urgent marker', () => {
    const s = suggest(
      report({ subject: 'question', headers: [{ name: 'X-Priority', value: '3' }] }),
      compiled,
    );

    expect(s).toEqual({ type: 'SUP', severity: 'SEV3', reasons: ['no rule matched: default type SUP'] });
  });

  it('when an urgent marker comes with a SEV3 rule, then the rule keeps the type and the severity is raised to SEV2', () => {
    const s = suggest(report({ subject: '[URGENT] phishing mail to all members' }), compiled);

    expect(s.type).toBe('PHI');
    expect(s.severity).toBe('SEV2');
    expect(s.reasons).toEqual([
      "PHI SEV3 (phishing-words): matched 'phishing'",
      "urgent marker: subject contains '[urgent]'",
    ]);
  });

  it('when an urgent marker comes with a SEV1 rule, then the severity stays SEV1', () => {
    const s = suggest(report({ subject: 'URGENT: website is down' }), compiled);

    expect(s.type).toBe('INC');
    expect(s.severity).toBe('SEV1');
    expect(s.reasons).toContain("urgent marker: subject contains 'urgent:'");
  });
});

describe('suggest with the default playbook: matching', () => {
  it('when "download" appears next to "site" or "is", then no down-style outage term matches', () => {
    const s = suggest(
      report({
        subject: 'Site download',
        text: 'Where is the site download for the annual report? The file is downloadable, I think.',
      }),
      compiled,
    );

    expect(s).toEqual({ type: 'SUP', severity: 'SEV3', reasons: ['no rule matched: default type SUP'] });
  });

  it('when "lost" only appears inside Lostwithiel, then a laptop mention is not a device loss', () => {
    const s = suggest(
      report({ subject: 'Lostwithiel group laptop', text: 'The Lostwithiel laptop needs an update.' }),
      compiled,
    );

    expect(s).toEqual({ type: 'SUP', severity: 'SEV3', reasons: ['no rule matched: default type SUP'] });
  });

  it('when the same words stand alone, then they do match', () => {
    const s = suggest(report({ subject: 'Lost laptop in Lostwithiel' }), compiled);

    expect(s.type).toBe('DEV');
    expect(s.reasons).toEqual(["DEV SEV2 (device-lost-or-compromised): matched 'lost', 'laptop'"]);
  });

  it('when a term is written in capitals and split over a line break, then it still matches', () => {
    const s = suggest(report({ subject: 'Status', text: 'Our WEBSITE IS\n   DOWN since 8:15.' }), compiled);

    expect(s.type).toBe('INC');
    expect(s.severity).toBe('SEV1');
    expect(s.reasons).toEqual(["INC SEV1 (outage): matched 'website is down', 'is down'"]);
  });

  it('when the only matching words come after the first 20 000 characters of the body, then no rule matches', () => {
    const text = `${'All fine here. '.repeat(1400)}\nThe website is down.`;

    const s = suggest(report({ subject: 'Long report', text }), compiled);

    expect(text.indexOf('website is down')).toBeGreaterThan(20_000);
    expect(s.type).toBe('SUP');
    expect(s.reasons).toEqual(['no rule matched: default type SUP']);
  });

  it('when rules of two types match, then the earlier rule wins the type and the later one is an "also" reason', () => {
    const s = suggest(report({ subject: 'My laptop was hacked' }), compiled);

    expect(s.type).toBe('DEV');
    expect(s.severity).toBe('SEV2');
    expect(s.reasons).toEqual([
      "DEV SEV2 (device-lost-or-compromised): matched 'hacked', 'laptop'",
      "also INC SEV1 (outage): matched 'hacked'",
    ]);
  });

  it('when a forward also mentions phishing and an outage, then PHI wins and the outage is an "also" reason', () => {
    const s = suggest(
      report({
        subject: 'Fwd: phishing mail',
        text: 'After this the site is down.',
        attachmentTypes: ['message/rfc822'],
      }),
      compiled,
    );

    expect(s.type).toBe('PHI');
    expect(s.severity).toBe('SEV3');
    expect(s.reasons).toEqual([
      "PHI SEV3 (forwarded-message): matched 'attachment message/rfc822'",
      "PHI SEV3 (phishing-words): matched 'phishing'",
      "also INC SEV1 (outage): matched 'site is down', 'is down'",
    ]);
  });

  it('when two rules of the winning type match, then the most severe of them is suggested', () => {
    const s = suggest(report({ subject: 'Outage and very slow pages' }), compiled);

    expect(s.type).toBe('INC');
    expect(s.severity).toBe('SEV1');
    expect(s.reasons).toEqual([
      "INC SEV1 (outage): matched 'outage'",
      "INC SEV2 (degradation): matched 'very slow'",
    ]);
  });
});

describe('loadPlaybook', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-playbook-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const defaults = () =>
    JSON.parse(fs.readFileSync(DEFAULT_PLAYBOOK_FILE, 'utf8')) as Record<string, unknown>;

  it('when the default file is loaded, then its rules are in file order and its default type is SUP', () => {
    const playbook = loadPlaybook();

    expect(playbook.defaultType).toBe('SUP');
    expect(playbook.rules.map((r) => r.id)).toEqual([
      'forwarded-message',
      'data-exposure',
      'device-lost-or-compromised',
      'official-account-misuse',
      'phishing-words',
      'outage',
      'degradation',
    ]);
    expect(Object.keys(playbook.types).sort()).toEqual(['ABU', 'DAT', 'DEV', 'INC', 'PHI', 'SUP']);
  });

  it('when a rule points at an unknown case type, then PlaybookError names the file and the type', () => {
    const data = defaults();
    (data.rules as { type: string }[])[0]!.type = 'XYZ';
    const file = path.join(dir, 'unknown-type.json');
    fs.writeFileSync(file, JSON.stringify(data));

    const load = () => loadPlaybook(file);

    expect(load).toThrow(PlaybookError);
    expect(load).toThrow(`PLAYBOOK_FILE ${file} is invalid at top level: unknown case type XYZ.`);
  });

  it('when a rule has neither any, all nor attachmentTypes, then PlaybookError names the rule position', () => {
    const data = defaults();
    (data.rules as Record<string, unknown>[])[2] = { id: 'empty', type: 'INC', severity: 'SEV1' };
    const file = path.join(dir, 'empty-rule.json');
    fs.writeFileSync(file, JSON.stringify(data));

    const load = () => loadPlaybook(file);

    expect(load).toThrow(PlaybookError);
    expect(load).toThrow(
      `PLAYBOOK_FILE ${file} is invalid at rules.2: a rule needs any, all or attachmentTypes.`,
    );
  });

  it('when the file is not JSON, then PlaybookError says it could not be read as JSON', () => {
    const file = path.join(dir, 'not-json.json');
    fs.writeFileSync(file, '{ "defaultType": SUP ');

    const load = () => loadPlaybook(file);

    expect(load).toThrow(PlaybookError);
    expect(load).toThrow(new RegExp(`^PLAYBOOK_FILE ${escapeRe(file)} could not be read as JSON: .+\\.$`));
  });

  it('when the file does not exist, then PlaybookError names the file', () => {
    const file = path.join(dir, 'missing.json');

    const load = () => loadPlaybook(file);

    expect(load).toThrow(PlaybookError);
    expect(load).toThrow(`PLAYBOOK_FILE ${file} could not be read as JSON: ENOENT`);
  });
});

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('suggest with the default playbook: the seeds own wording', () => {
  it.each([
    ['Member area down', '', 'INC', 'SEV1'],
    ['Suspected compromise of a personal device used for Cafh work', '', 'DEV', 'SEV2'],
    ['Loss of member data', '', 'DAT', 'SEV1'],
    ['Wrong sharing of member data', '', 'DAT', 'SEV1'],
  ])('when the subject is "%s", then %s is suggested', (subject, text, type, severity) => {
    expect(suggest(report({ subject, text }), compiled)).toMatchObject({ type, severity });
  });
});

describe('suggest with the default playbook: words that only look like urgent markers', () => {
  it.each(['Resurgent: choir notes', 'Not urgent: typo on the newsletter', 'Non-emergency: question'])(
    'when the subject is "%s", then it is not urgent',
    (subject) => {
      const s = suggest(report({ subject, text: 'A question about the newsletter.' }), compiled);
      expect(s).toMatchObject({ type: 'SUP', severity: 'SEV3' });
      expect(s.reasons.join(' ')).not.toContain('urgent marker');
    },
  );

  it('when "urgent:" starts the subject after a reply prefix, then it is an urgent marker', () => {
    const s = suggest(report({ subject: 'Re: URGENT: call me', text: 'please' }), compiled);
    expect(s).toMatchObject({ type: 'INC', severity: 'SEV2' });
  });
});
