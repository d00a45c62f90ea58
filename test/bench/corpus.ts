import type Mail from 'nodemailer/lib/mailer';
import { compose } from '../support/mail';

/**
 * A deterministic corpus of realistic reports for the backlog benchmark: plain text, some
 * multipart/alternative with HTML, some with a small attachment (a log, a CSV, a screenshot, a
 * PDF, or a forwarded message/rfc822), 2–20 KB each, from a mix of senders, and written so that
 * every rule in the default playbook gets exercised.
 */

export type Category =
  | 'outage'
  | 'degradation'
  | 'device'
  | 'phishing'
  | 'wrong-recipient'
  | 'abuse'
  | 'support'
  | 'urgent-support';

export type Shape = 'plain' | 'alternative' | 'attachment' | 'alternative+attachment';

export interface CorpusMessage {
  raw: Buffer;
  /** Its Date, also used as the mailbox's INTERNALDATE: a month of mail, as a real backlog is. */
  date: Date;
  category: Category;
  shape: Shape;
  /** The type the default playbook is expected to suggest (for the summary; not asserted). */
  expectedType: string;
}

export interface Corpus {
  messages: CorpusMessage[];
  byCategory: Record<string, number>;
  byShape: Record<string, number>;
  sizes: { min: number; p50: number; max: number; total: number };
}

export const MIN_BYTES = 2 * 1024;
export const MAX_BYTES = 20 * 1024;

/** mulberry32: a small seeded PRNG, so the same N always gives the same corpus. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rand = () => number;
const pick = <T>(r: Rand, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

const FIRST = [
  'Ana',
  'Bruno',
  'Chloé',
  'Dmitri',
  'Eva',
  'Farid',
  'Greta',
  'Hiro',
  'Inés',
  'Jonas',
  'Kateřina',
  'Liam',
  'Maëlle',
  'Nils',
  'Olu',
  'Priya',
  'Quentin',
  'Rosa',
  'Søren',
  'Tomás',
  'Uma',
  'Valentina',
  'Wen',
  'Yusuf',
  'Zoë',
];
const LAST = [
  'Almeida',
  'Berg',
  'Costa',
  'Dubois',
  'Eriksen',
  'Fischer',
  'García',
  'Horvat',
  'Ivanova',
  'Jansen',
  'Kowalski',
  'Lindqvist',
  'Müller',
  'Nakamura',
  'O’Brien',
  'Petrović',
  'Rossi',
  'Schmidt',
  'Tanaka',
  'Van Dijk',
];
const DOMAINS = ['example.org', 'example.net', 'members.example.org', 'mail.example.com', 'example.test'];
const SERVICES = [
  'the members portal',
  'the public website',
  'the donation page',
  'the shared calendar',
  'the wiki',
  'the events signup form',
  'the mailing list archive',
  'the file share',
];
const DEVICES = ['phone', 'laptop', 'iPhone', 'tablet', 'Android phone', 'MacBook', 'work laptop', 'iPad'];
const PLACES = [
  'on the train to Lyon',
  'at the café after the meeting',
  'in a taxi',
  'at the airport',
  'from my car',
  'at the conference venue',
  'on the tram',
];
const SOCIAL = ['Facebook page', 'Instagram account', 'LinkedIn page', 'YouTube channel', 'newsletter'];
const DATASETS = [
  'the member list',
  'a spreadsheet with email addresses',
  'the volunteers export',
  'a file with phone numbers',
  'the donors records',
];
const SUPPORT_TOPICS: [string, string][] = [
  ['Cannot reset my password', 'The reset link in the email takes me back to the sign-in form every time.'],
  ['Please add me to the volunteers rota', 'I would like to help at the spring fair and the autumn meeting.'],
  ['Question about my membership invoice', 'The invoice shows last year’s rate; could someone check it?'],
  [
    'Printer on the second floor is jammed',
    'It shows paper jam in tray 2, and the usual trick did not help.',
  ],
  [
    'Calendar invitation has the wrong room',
    'The board meeting invitation says room 4 but we booked room 2.',
  ],
  ['Request: new shared folder for the youth group', 'We need a folder that the six coordinators can edit.'],
  [
    'How do I change my email address?',
    'I moved to a new provider and want notices to go to the new address.',
  ],
  ['Projector cable missing from the meeting room', 'The HDMI adapter was not in the drawer this morning.'],
  [
    'Newsletter formatting looks odd in Outlook',
    'The headings run into the paragraphs in the desktop client.',
  ],
];

/** Neutral sentences for padding: what real reports are full of, and matching no rule on their own. */
const FILLER = [
  'I am writing from my personal address because I could not find the right contact form.',
  'Thanks in advance for looking into this; I know the team is stretched this month.',
  'For context, I joined the committee in March and mostly help with the spring fair.',
  'I tried again after lunch and then once more in the evening, with the same result.',
  'My colleague Sam was with me and can confirm what I saw if that helps.',
  'Let me know if you need anything else from me; I am around most of the week.',
  'I have copied the relevant bits below so you do not have to dig through the thread.',
  'Apologies for the long message, I wanted to include everything I remembered.',
  'We discussed something similar at the last general meeting, under any other business.',
  'If it is easier to talk, my number is in the members directory and I am free after six.',
  'The same thing was mentioned on the volunteers chat yesterday, but nobody followed up.',
  'I am not sure whether this is the right place to report it, so please forward it if not.',
  'Our next board meeting is on Thursday, so it would be good to have an answer before then.',
  'I used the browser I always use, with no extensions, on the home wifi.',
  'Please keep me posted; I will check my inbox again tomorrow morning.',
  'The minutes from the previous meeting are attached to the calendar entry, as usual.',
  'Kind regards to everyone in the office, and thanks for the cake last Friday.',
];
const QUOTE = [
  'Hi all, just a reminder that the room booking closes on Friday at noon.',
  'Please bring the signed forms to the next meeting; copies are in the usual folder.',
  'The agenda for Thursday is in the shared calendar; add items before Wednesday.',
  'We are still looking for two people to help with the stand on Saturday.',
];

interface Draft {
  subject: string;
  opening: string;
  expectedType: string;
  headers?: Record<string, string>;
  attachment?: (r: Rand, fromAddress: string) => Mail.Attachment;
}

function draft(category: Category, r: Rand): Draft {
  const service = pick(r, SERVICES);
  const time = `${String(int(r, 6, 22)).padStart(2, '0')}:${String(int(r, 0, 59)).padStart(2, '0')}`;
  switch (category) {
    case 'outage':
      return {
        subject: pick(r, [
          `Website is down since ${time}`,
          `Outage: ${service} not loading`,
          `${service} returns 502 for everyone`,
          `Members area unavailable`,
          `The site went down again`,
        ]),
        opening: `Since about ${time} UTC ${service} shows an error page for me and for the two colleagues I asked. Nothing loads beyond the header.`,
        expectedType: 'INC',
        attachment: (r2) => logAttachment(r2, service),
      };
    case 'degradation':
      return {
        subject: pick(r, [
          `${service} very slow today`,
          `Intermittent errors on ${service}`,
          `Suspicious login notification`,
        ]),
        opening: `Since ${time} ${service} has been very slow and intermittent: some pages take a minute, others time out.`,
        expectedType: 'INC',
      };
    case 'device': {
      const device = pick(r, DEVICES);
      return {
        subject: pick(r, [
          `My ${device} was stolen`,
          `Lost ${device} ${pick(r, PLACES)}`,
          `${device} left behind at the venue`,
          `Work ${device} missing since yesterday`,
        ]),
        opening: `I am afraid my ${device} was stolen ${pick(r, PLACES)} around ${time}. It has my mail and the committee chat on it.`,
        expectedType: 'DEV',
      };
    }
    case 'phishing':
      return {
        subject: pick(r, [
          'Suspicious email claiming to be from the bank',
          'Phishing? Fake login page for the members portal',
          'Fwd: Your mailbox is almost full',
          'Is this a scam email?',
          'Spoofed message from the treasurer',
        ]),
        opening: `I received a suspicious email this morning at ${time} asking me to sign in on a page that looks like ours. I did not click the link.`,
        expectedType: 'PHI',
        attachment: (r2, from) => forwardedAttachment(r2, from),
      };
    case 'wrong-recipient': {
      const data = pick(r, DATASETS);
      return {
        subject: pick(r, [
          `Member list sent to the wrong person`,
          `I sent ${data} by mistake`,
          `Spreadsheet shared by mistake`,
          `Wrong recipient for the volunteers export`,
        ]),
        opening: `Today at ${time} I sent ${data} to the wrong recipient: an outside address with a similar name. It held email addresses and phone numbers.`,
        expectedType: 'DAT',
        attachment: (r2) => csvAttachment(r2),
      };
    }
    case 'abuse': {
      const channel = pick(r, SOCIAL);
      return {
        subject: pick(r, [
          `Our ${channel} was hijacked`,
          `Someone is impersonating us on our ${channel}`,
          `Unauthorized post on the official ${channel}`,
        ]),
        opening: `At ${time} an unauthorized post appeared on our official ${channel}; it looks like impersonation and we cannot sign in any more.`,
        expectedType: 'ABU',
        attachment: (r2) => pngAttachment(r2),
      };
    }
    case 'support': {
      const [subject, opening] = pick(r, SUPPORT_TOPICS);
      return {
        subject,
        opening,
        expectedType: 'SUP',
        attachment: (r2) => (r2() < 0.5 ? pngAttachment(r2) : pdfAttachment(r2)),
      };
    }
    case 'urgent-support': {
      const [subject, opening] = pick(r, SUPPORT_TOPICS);
      const header = r() < 0.5;
      return {
        subject: header ? subject : `[URGENT] ${subject}`,
        opening,
        expectedType: 'INC',
        headers: header ? { Importance: 'high', 'X-Priority': '1 (Highest)' } : undefined,
      };
    }
  }
}

function logAttachment(r: Rand, service: string): Mail.Attachment {
  const lines: string[] = [];
  const n = int(r, 15, 60);
  for (let i = 0; i < n; i++) {
    const code = pick(r, [200, 200, 200, 502, 503, 504]);
    lines.push(
      `2026-03-${String(int(r, 1, 28)).padStart(2, '0')}T${String(int(r, 0, 23)).padStart(2, '0')}:${String(int(r, 0, 59)).padStart(2, '0')}:00Z GET /${pick(r, ['', 'members', 'donate', 'events', 'login'])} ${code} ${int(r, 20, 30000)}ms`,
    );
  }
  return {
    filename: 'browser-console.log',
    contentType: 'text/plain',
    content: `${service}\n${lines.join('\n')}\n`,
  };
}

function csvAttachment(r: Rand): Mail.Attachment {
  const rows = ['name,email,phone'];
  const n = int(r, 10, 50);
  for (let i = 0; i < n; i++) {
    const first = pick(r, FIRST);
    const last = pick(r, LAST);
    rows.push(
      `${first} ${last},${first.toLowerCase()}.${i}@${pick(r, DOMAINS)},+33 6 ${int(r, 10, 99)} ${int(r, 10, 99)} ${int(r, 10, 99)} ${int(r, 10, 99)}`,
    );
  }
  return { filename: 'list.csv', contentType: 'text/csv', content: rows.join('\r\n') + '\r\n' };
}

function pngAttachment(r: Rand): Mail.Attachment {
  // A PNG signature followed by noise: the bytes are opaque to the parser either way.
  const body = Buffer.alloc(int(r, 600, 3000));
  for (let i = 0; i < body.length; i++) body[i] = Math.floor(r() * 256);
  const content = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), body]);
  return { filename: 'screenshot.png', contentType: 'image/png', content };
}

function pdfAttachment(r: Rand): Mail.Attachment {
  const body = Buffer.alloc(int(r, 800, 3000));
  for (let i = 0; i < body.length; i++) body[i] = Math.floor(r() * 256);
  const content = Buffer.concat([Buffer.from('%PDF-1.4\n'), body, Buffer.from('\n%%EOF\n')]);
  return { filename: 'invoice.pdf', contentType: 'application/pdf', content };
}

function forwardedAttachment(r: Rand, to: string): Mail.Attachment {
  const ref = int(r, 100000, 999999);
  const content = [
    'From: "IT Helpdesk" <helpdesk@examp1e-secure.test>',
    `To: ${to}`,
    'Subject: Your mailbox is almost full',
    `Message-ID: <${ref}.phish@examp1e-secure.test>`,
    'Date: Mon, 2 Mar 2026 07:12:00 +0000',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Dear user,',
    '',
    'Your mailbox has reached 98% of its quota. To keep receiving mail, confirm your account within',
    `24 hours at http://examp1e-secure.test/verify?ref=${ref}`,
    '',
    'IT Helpdesk',
    '',
  ].join('\r\n');
  return { filename: 'original-message.eml', contentType: 'message/rfc822', content };
}

const CATEGORY_WEIGHTS: [Category, number][] = [
  ['support', 34],
  ['outage', 14],
  ['degradation', 6],
  ['device', 12],
  ['phishing', 14],
  ['wrong-recipient', 10],
  ['abuse', 5],
  ['urgent-support', 5],
];

function weighted(r: Rand): Category {
  const total = CATEGORY_WEIGHTS.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [c, w] of CATEGORY_WEIGHTS) {
    x -= w;
    if (x < 0) return c;
  }
  return 'support';
}

function padding(r: Rand, chars: number): string[] {
  const paragraphs: string[] = [];
  let used = 0;
  while (used < chars) {
    const sentences: string[] = [];
    const n = int(r, 2, 5);
    for (let i = 0; i < n; i++) sentences.push(pick(r, FILLER));
    const p = sentences.join(' ');
    paragraphs.push(p);
    used += p.length + 2;
  }
  return paragraphs;
}

function html(paragraphs: string[], signature: string[]): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return [
    '<!DOCTYPE html><html><head><meta charset="utf-8"><style>p{margin:0 0 1em} .sig{color:#666;font-size:12px}</style></head><body>',
    ...paragraphs.map((p) => `<p>${esc(p)}</p>`),
    `<table class="sig"><tr><td>${signature.map(esc).join('<br>')}</td></tr></table>`,
    '</body></html>',
  ].join('\n');
}

/**
 * One message of about `target` bytes. Built once to learn the fixed overhead, then with padding
 * sized to reach the target (a few more builds correct the estimate when it is off by over 10 %).
 */
async function buildMessage(i: number, runId: string, to: string, r: Rand): Promise<CorpusMessage> {
  const category = weighted(r);
  const d = draft(category, r);
  const first = pick(r, FIRST);
  const last = pick(r, LAST);
  const fromAddress = `${first
    .normalize('NFD')
    .replace(/[^a-zA-Z]/g, '')
    .toLowerCase()}.${last
    .normalize('NFD')
    .replace(/[^a-zA-Z]/g, '')
    .toLowerCase()}@${pick(r, DOMAINS)}`;
  const alternative = r() < 0.35;
  const withAttachment = d.attachment !== undefined && r() < 0.4;
  const shape: Shape = alternative
    ? withAttachment
      ? 'alternative+attachment'
      : 'alternative'
    : withAttachment
      ? 'attachment'
      : 'plain';
  const attachment = withAttachment ? d.attachment!(r, fromAddress) : undefined;
  const quoted = r() < 0.3;
  const target = int(r, MIN_BYTES, MAX_BYTES);
  const date = new Date(Date.UTC(2026, 2, 1) + Math.floor(r() * 30 * 86_400_000));
  const signature = [
    `${first} ${last}`,
    pick(r, ['Treasurer', 'Volunteer', 'Member', 'Events team', 'Secretary']),
  ];
  // The same seed for every build, so more padding only ever appends paragraphs.
  const padSeed = Math.floor(r() * 2 ** 32);
  const quote = pick(r, QUOTE);
  const messageId = `<bench-${runId}-${i}@${pick(r, DOMAINS)}>`;

  const build = (padChars: number) => {
    const paragraphs = [`Hello,`, d.opening, ...padding(rng(padSeed), padChars)];
    const textParts = [...paragraphs, signature.join('\n')];
    if (quoted) textParts.push(`On ${date.toUTCString()}, the office wrote:\n> ${quote}`);
    const options: Mail.Options = {
      from: `"${first} ${last}" <${fromAddress}>`,
      to,
      subject: d.subject,
      date,
      messageId,
      text: textParts.join('\n\n'),
      headers: d.headers,
      attachments: attachment ? [attachment] : undefined,
    };
    if (alternative) options.html = html(paragraphs, signature);
    return compose(options);
  };

  const base = (await build(0)).length;
  const perChar = alternative ? 2.05 : 1.02;
  let pad = Math.max(0, Math.round((target - base) / perChar));
  let raw = await build(pad);
  const lo = Math.max(MIN_BYTES, target * 0.9);
  const hi = Math.min(MAX_BYTES, target * 1.1);
  for (let tries = 0; tries < 6 && (raw.length < lo || raw.length > hi); tries++) {
    let next = Math.max(0, Math.round(pad + (target - raw.length) / perChar));
    if (raw.length < lo) next = Math.max(next, pad + 400);
    if (next === pad) break;
    pad = next;
    raw = await build(pad);
  }
  // Paragraphs are coarse: when the target sits between two paddings, err on the side of 2 KB.
  for (let tries = 0; tries < 5 && raw.length < MIN_BYTES; tries++) {
    pad += 400;
    raw = await build(pad);
  }
  return { raw, date, category, shape, expectedType: d.expectedType };
}

export async function buildCorpus(n: number, runId: string, to: string, seed = 20260301): Promise<Corpus> {
  const r = rng(seed);
  const messages: CorpusMessage[] = [];
  for (let i = 0; i < n; i++) messages.push(await buildMessage(i, runId, to, r));
  const count = (key: (m: CorpusMessage) => string) =>
    messages.reduce<Record<string, number>>((acc, m) => ((acc[key(m)] = (acc[key(m)] ?? 0) + 1), acc), {});
  const sorted = messages.map((m) => m.raw.length).sort((a, b) => a - b);
  return {
    messages,
    byCategory: count((m) => m.category),
    byShape: count((m) => m.shape),
    sizes: {
      min: sorted[0] ?? 0,
      p50: sorted[Math.floor(sorted.length / 2)] ?? 0,
      max: sorted[sorted.length - 1] ?? 0,
      total: sorted.reduce((s, x) => s + x, 0),
    },
  };
}
