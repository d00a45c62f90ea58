import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CLOSURE_FIELDS,
  checklistState,
  closureMissing,
  closureRequired,
  isIsoDate,
  missingFields,
  type ClosureRecord,
} from '../../server/cases/closure';
import {
  DEFAULT_PLAYBOOK_FILE,
  PlaybookError,
  loadPlaybook,
  type Playbook,
} from '../../server/cases/playbook';

let playbook: Playbook;

beforeAll(() => {
  playbook = loadPlaybook();
});

const complete: ClosureRecord = {
  rootCause: 'Hosting plan expired',
  vendorActions: 'Host renewed the plan and restored the site',
  accountChanges: 'Admin password changed, old sessions revoked',
  followUps: [{ task: 'Add an uptime alert', owner: 'Luis M.', due: '2026-05-15' }],
  lessons: 'Renewal dates go in the shared calendar',
};

describe('the default playbook: checklists', () => {
  it('when the default file is loaded, then every case type has a checklist and no other key is there', () => {
    const checklistTypes = Object.keys(playbook.checklists).sort();

    expect(checklistTypes).toEqual(Object.keys(playbook.types).sort());
    expect(checklistTypes).toEqual(['ABU', 'DAT', 'DEV', 'INC', 'PHI', 'SUP']);
  });

  it('when DEV is read, then it is the personal device procedure of seed 000, every step in order', () => {
    const dev = playbook.checklists.DEV!;

    expect(dev.map((i) => i.label)).toEqual([
      'Stop our work on the device at once',
      'Disconnect the device from the network if compromise is suspected',
      'Tell the committee the same day',
      'From a clean device, change the passwords of the accounts used on it',
      'Revoke active sessions or tokens where the service allows it',
      'Record what data, mailboxes or apps were on the device',
      'Rotate shared credentials or recovery paths that may be exposed',
      'Decide if this is a data incident, an account incident or a vendor case',
      'Restore access only after the review is complete',
    ]);
    expect(dev[0]!.id).toBe('stop-work');
    expect(dev.at(-1)!.id).toBe('restore-access');
  });

  it('when INC is read, then containment comes first, then the template phases in order', () => {
    const sections = [...new Set(playbook.checklists.INC!.map((i) => i.section))];

    expect(sections).toEqual(['Contain', 'Initiate', 'Assess', 'Remediate', 'Follow-up']);
    expect(playbook.checklists.INC!.map((i) => i.id)).toContain('limit-access');
  });

  it('when DAT is read, then it has the 72-hour authority decision of GDPR Art. 33 after the assessment', () => {
    const dat = playbook.checklists.DAT!;
    const step = dat.find((i) => i.id === 'authority-72h');

    expect(step?.label).toMatch(/Art\. 33.*supervisory authority.*72 hours/);
    expect(step?.section).toBe('Notify');
    expect(dat.findIndex((i) => i.id === 'authority-72h')).toBeGreaterThan(
      dat.findIndex((i) => i.id === 'assign-severity'),
    );
    expect(dat[0]!.section).toBe('Contain');
  });

  it('when PHI is read, then keeping the evidence comes before anything else', () => {
    const phi = playbook.checklists.PHI!;

    expect(phi[0]!.label).toMatch(/do not delete/);
    expect(phi.map((i) => i.id)).toEqual([
      'keep-evidence',
      'report-phishing',
      'check-clicked',
      'check-entered',
      'escalate',
    ]);
  });
});

describe('closureRequired with the default playbook', () => {
  it('when a SEV4 support request has no vendor, then only the root cause is required', () => {
    expect(closureRequired(playbook, { type: 'SUP', severity: 'SEV4', vendorInvolved: false })).toEqual([
      'rootCause',
    ]);
  });

  it('when a SEV1 incident involves a vendor, then all five fields are required, in closure order', () => {
    const required = closureRequired(playbook, { type: 'INC', severity: 'SEV1', vendorInvolved: true });

    expect(required).toEqual([...CLOSURE_FIELDS]);
  });

  it('when a SEV3 data incident has no vendor, then lessons are still required because it is DAT', () => {
    expect(closureRequired(playbook, { type: 'DAT', severity: 'SEV3', vendorInvolved: false })).toEqual([
      'rootCause',
      'accountChanges',
      'lessons',
    ]);
  });

  it('when a SEV2 support request involves a vendor, then vendor actions, follow-ups and lessons are added', () => {
    expect(closureRequired(playbook, { type: 'SUP', severity: 'SEV2', vendorInvolved: true })).toEqual([
      'rootCause',
      'vendorActions',
      'followUps',
      'lessons',
    ]);
  });
});

describe('closureMissing', () => {
  const sev1Inc = { type: 'INC', severity: 'SEV1', vendorInvolved: true };
  const sev4Sup = { type: 'SUP', severity: 'SEV4', vendorInvolved: false };

  it('when nothing is recorded for a SEV1 incident with a vendor, then every field is missing', () => {
    expect(closureMissing(playbook, sev1Inc, undefined)).toEqual([...CLOSURE_FIELDS]);
  });

  it('when every field is filled in, then nothing is missing', () => {
    expect(closureMissing(playbook, sev1Inc, complete)).toEqual([]);
  });

  it('when text fields hold only whitespace, then they count as missing', () => {
    const record = { ...complete, rootCause: '   ', lessons: '\n\t' };

    expect(closureMissing(playbook, sev1Inc, record)).toEqual(['rootCause', 'lessons']);
  });

  it('when follow-ups are required but the list is empty, then followUps is missing', () => {
    expect(closureMissing(playbook, sev1Inc, { ...complete, followUps: [] })).toEqual(['followUps']);
  });

  it('when a follow-up has no owner and no due date, then each gap is reported with its index', () => {
    const followUps = [
      { task: 'Add an uptime alert', owner: 'Luis M.', due: '2026-05-15' },
      { task: 'Document the renewal', owner: ' ', due: '' },
    ];

    expect(closureMissing(playbook, sev1Inc, { ...complete, followUps })).toEqual([
      'followUps[1].owner',
      'followUps[1].due',
    ]);
  });

  it('when a follow-up is given on a case that does not require any, then it is still checked', () => {
    const record = {
      rootCause: 'Typo in the form',
      followUps: [{ task: '', owner: 'Ana R.', due: '15/05/2026' }],
    };

    expect(closureMissing(playbook, sev4Sup, record)).toEqual(['followUps[0].task', 'followUps[0].due']);
  });

  it('when a SEV4 support request has its root cause, then nothing else is asked for', () => {
    expect(closureMissing(playbook, sev4Sup, { rootCause: 'Mail filter on the member side' })).toEqual([]);
  });
});

describe('isIsoDate', () => {
  it.each([
    ['2026-05-15', true],
    ['2028-02-29', true],
    ['2026-02-30', false],
    ['2026-13-01', false],
    ['2026-5-15', false],
    ['2026-05-15T10:00:00Z', false],
    ['', false],
    [undefined, false],
  ])('when the due date is %p, then it is valid: %p', (v, valid) => {
    expect(isIsoDate(v)).toBe(valid);
  });
});

describe('missingFields', () => {
  it('when a support request gives some fields, then the others are missing, except those known from the email', () => {
    const missing = missingFields(playbook, 'SUP', {
      service: 'Member area',
      summary: 'Reset emails do not arrive',
      visibleImpact: '  ',
    });

    expect(missing).toEqual([
      { id: 'stepsToReproduce', label: 'Steps to reproduce' },
      { id: 'visibleImpact', label: 'Visible impact' },
      { id: 'desiredDate', label: 'Desired date' },
      { id: 'screenshotsOrLinks', label: 'Screenshots or links' },
    ]);
  });

  it('when no fields are given, then every field not from the email is missing', () => {
    const ids = missingFields(playbook, 'SUP', undefined).map((f) => f.id);

    expect(ids).not.toContain('requester');
    expect(ids).toHaveLength(playbook.types.SUP!.requiredFields.length - 1);
  });

  it('when the type is unknown, then nothing is reported', () => {
    expect(missingFields(playbook, 'XYZ', undefined)).toEqual([]);
  });
});

describe('checklistState', () => {
  it('when nothing is ticked, then every item is open, in playbook order', () => {
    const state = checklistState(playbook, 'SUP', undefined);

    expect(state).toEqual([
      {
        id: 'committee-review',
        label: 'Wait for committee review before contacting the vendor',
        section: undefined,
        done: false,
        by: undefined,
        at: undefined,
      },
      {
        id: 'vendor-contact',
        label: 'Name the person who will talk with the vendor',
        section: undefined,
        done: false,
        by: undefined,
        at: undefined,
      },
    ]);
  });

  it('when items are ticked, then their state is shown and a tick for an unknown id is ignored', () => {
    const at = new Date('2026-04-27T12:30:00Z');
    const by = { id: 'u1', name: 'Marta S.' };

    const state = checklistState(playbook, 'DEV', [
      { id: 'tell-committee', done: true, by, at },
      { id: 'no-such-step', done: true, by, at },
    ]);

    expect(state).toHaveLength(9);
    expect(state.map((i) => i.id)).not.toContain('no-such-step');
    expect(state[2]).toEqual({
      id: 'tell-committee',
      label: 'Tell the committee the same day',
      section: undefined,
      done: true,
      by,
      at,
    });
    expect(state.filter((i) => i.done)).toHaveLength(1);
  });

  it('when an item is ticked then unticked, then the latest tick wins', () => {
    const state = checklistState(playbook, 'INC', [
      { id: 'limit-access', done: true },
      { id: 'limit-access', done: false },
    ]);

    expect(state.find((i) => i.id === 'limit-access')).toMatchObject({ done: false, section: 'Contain' });
  });

  it('when the type has no checklist, then the list is empty', () => {
    expect(checklistState(playbook, 'XYZ', [{ id: 'stop-work', done: true }])).toEqual([]);
  });
});

describe('loadPlaybook: checklists and closure', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tocsin-closure-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  type Data = {
    checklists?: Record<string, { id: string; label: string }[]>;
    closure?: { requirements: Record<string, unknown>[] };
    alertSources?: Record<string, unknown>[];
  };

  const write = (name: string, edit: (data: Data) => void): string => {
    const data = JSON.parse(fs.readFileSync(DEFAULT_PLAYBOOK_FILE, 'utf8')) as Data;
    edit(data);
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(data));
    return file;
  };

  it('when a checklist uses an id twice, then PlaybookError names the type, the position and the id', () => {
    const file = write('duplicate-id.json', (data) => {
      data.checklists!.DEV![1]!.id = 'stop-work';
    });

    const load = () => loadPlaybook(file);

    expect(load).toThrow(PlaybookError);
    expect(load).toThrow(
      `PLAYBOOK_FILE ${file} is invalid at checklists.DEV.1.id: checklist item id stop-work is used twice.`,
    );
  });

  it('when the same id is used in two different types, then the playbook loads', () => {
    const file = write('shared-id.json', (data) => {
      data.checklists!.SUP![0]!.id = 'stop-work';
    });

    expect(loadPlaybook(file).checklists.SUP![0]!.id).toBe('stop-work');
  });

  it('when a checklist is keyed by an unknown type, then PlaybookError names it', () => {
    const file = write('unknown-checklist-type.json', (data) => {
      data.checklists!.XYZ = [{ id: 'step', label: 'A step' }];
    });

    expect(() => loadPlaybook(file)).toThrow(
      `PLAYBOOK_FILE ${file} is invalid at checklists.XYZ: unknown case type XYZ.`,
    );
  });

  it('when a closure requirement names an unknown type, then PlaybookError names the requirement', () => {
    const file = write('unknown-closure-type.json', (data) => {
      data.closure!.requirements[2]!.types = ['INC', 'XYZ'];
    });

    expect(() => loadPlaybook(file)).toThrow(
      `PLAYBOOK_FILE ${file} is invalid at closure.requirements.2.types: unknown case type XYZ.`,
    );
  });

  it('when an alert source names an unknown type or no real sender, then PlaybookError names the source', () => {
    const unknownType = write('alert-type.json', (data) => {
      data.alertSources = [{ sender: '@github.com' }, { sender: 'alerts@uptime.example', type: 'XYZ' }];
    });
    expect(() => loadPlaybook(unknownType)).toThrow(
      `PLAYBOOK_FILE ${unknownType} is invalid at alertSources.1.type: unknown case type XYZ.`,
    );
    const noSender = write('alert-sender.json', (data) => {
      data.alertSources = [{ sender: 'github.com', severity: 'SEV2' }];
    });
    expect(() => loadPlaybook(noSender)).toThrow(
      `PLAYBOOK_FILE ${noSender} is invalid at alertSources.0.sender: a sender is an address, or @ and a domain such as @github.com.`,
    );
    const good = write('alert-good.json', (data) => {
      data.alertSources = [
        { sender: '@github.com', type: 'INC', severity: 'SEV2', groupHeader: 'X-GitHub-Alert' },
      ];
    });
    expect(loadPlaybook(good).alertSources).toEqual([
      { sender: '@github.com', type: 'INC', severity: 'SEV2', groupHeader: 'X-GitHub-Alert' },
    ]);
    expect(loadPlaybook(DEFAULT_PLAYBOOK_FILE).alertSources).toEqual([]);
  });

  it('when a closure requirement names a field that is not a closure field, then PlaybookError refuses it', () => {
    const file = write('unknown-closure-field.json', (data) => {
      data.closure!.requirements[0]!.field = 'mood';
    });

    expect(() => loadPlaybook(file)).toThrow(/invalid at closure\.requirements\.0\.field: /);
  });

  it('when a checklist id is not fit for a URL, then PlaybookError says what an id looks like', () => {
    const file = write('bad-id.json', (data) => {
      data.checklists!.PHI![0]!.id = 'Keep Evidence';
    });

    expect(() => loadPlaybook(file)).toThrow(
      /invalid at checklists\.PHI\.0\.id: a checklist item id is a lower-case letter then up to 39/,
    );
  });

  it('when a playbook has neither checklists nor closure, then it loads with none and requires nothing', () => {
    const file = write('old.json', (data) => {
      delete data.checklists;
      delete data.closure;
    });

    const old = loadPlaybook(file);

    expect(old.checklists).toEqual({});
    expect(closureRequired(old, { type: 'INC', severity: 'SEV1', vendorInvolved: true })).toEqual([]);
    expect(checklistState(old, 'DEV', undefined)).toEqual([]);
  });
});
