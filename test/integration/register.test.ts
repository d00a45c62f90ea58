import { startDesk, type Desk } from '../support/desk';
import { newMailbox, uniqueName } from '../support/env';
import { appendMessages, compose } from '../support/mail';
import { casesTagged } from '../support/conversation';
import { waitFor } from '../support/wait';

/** The case register as CSV, and the status moves a case offers. */

let desk: Desk;
beforeAll(async () => {
  const box = await newMailbox('register');
  desk = await startDesk({ mailbox: box });
  const tag = uniqueName('reg');
  await appendMessages(box, [
    await compose({ subject: `=HYPERLINK("http://x","y") ${tag}`, text: 'Clicking this should do nothing.' }),
    await compose({ subject: `Printer jam, tray 2 ${tag}`, text: 'Tray 2 again.' }),
  ]);
  await waitFor('both cases', async () => (await casesTagged(desk, tag)).length === 2 || null);
});
afterAll(() => desk.stop());

async function exportCsv(query = '') {
  const res = await fetch(`${desk.url}/api/cases.csv${query}`, {
    headers: { authorization: `Bearer ${desk.token}` },
  });
  return { res, text: await res.text() };
}

describe('when the committee exports the register', () => {
  it('then it is RFC 4180 CSV with the seed register columns, severity and dates', async () => {
    const { res, text } = await exportCsv();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="tocsin-cases-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const lines = text.split('\r\n');
    expect(lines[0]).toBe(
      'Case ID,Type,Service,Priority,Status,Owner,Vendor involved,Last update,Severity,Subject,Reporter,First seen,Created,Closed',
    );
    expect(lines.at(-1)).toBe('');
    expect(
      lines.some((l) =>
        /^SUP-\d{4}-\d{3},Standard support request,,Medium,New,,No,\d{4}-\d{2}-\d{2},SEV3,"Printer jam, tray 2 /.test(
          l,
        ),
      ),
    ).toBe(true);
  });

  it('then a subject written as a spreadsheet formula comes out as inert text', async () => {
    const { text } = await exportCsv('?q=HYPERLINK');
    const row = text.split('\r\n')[1]!;
    expect(row).toContain(`"'=HYPERLINK(""http://x"",""y"")`);
    expect(row).not.toMatch(/,=|,"=/);
  });

  it('then filters apply to the export as to the list, and anonymous callers get 401', async () => {
    const { text } = await exportCsv('?status=Closed');
    expect(text.split('\r\n').filter(Boolean)).toHaveLength(1);
    expect((await fetch(`${desk.url}/api/cases.csv`)).status).toBe(401);
  });
});

describe('when a client reads a case', () => {
  it('then it is told the statuses the status map allows next', async () => {
    const list = await desk.api<{ cases: { key: string; status: string; allowedStatuses: string[] }[] }>(
      '/api/cases',
    );
    expect(list.body.cases[0]).toMatchObject({ status: 'New', allowedStatuses: ['Triage'] });
  });
});
