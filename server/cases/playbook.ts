import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CLOSURE_FIELDS, SEVERITIES } from '../contract';

/**
 * The playbook: case types, severities, suggestion rules, per-type checklists and what closing a case
 * requires, as data the committee can edit.
 */

const severityId = z.enum(SEVERITIES);
export type SeverityId = z.infer<typeof severityId>;

const typeId = z.string().regex(/^[A-Z]{2,6}$/, 'a type key is 2–6 capital letters, such as INC');

const rule = z
  .object({
    id: z.string().min(1),
    type: typeId,
    severity: severityId,
    any: z.array(z.string().min(1)).optional(),
    all: z.array(z.array(z.string().min(1)).min(1)).optional(),
    attachmentTypes: z.array(z.string().min(1)).optional(),
  })
  .refine((r) => r.any || r.all || r.attachmentTypes, 'a rule needs any, all or attachmentTypes');

/**
 * What the report itself can show, besides hint words: an attachment, a web link, a forwarded
 * message (a forward block in the text or a Fwd: subject), or a description of a few words.
 */
export const PRESENCE_SIGNALS = ['attachment', 'link', 'forwarded', 'description'] as const;
export type PresenceSignal = (typeof PRESENCE_SIGNALS)[number];

/**
 * One piece of information a case type needs. `question` is how the acknowledgement asks the
 * reporter for it; `hints` (case-insensitive words, phrases or simple regular expressions) show
 * that the report already gives it; `fromEmail` fields are known from the sender and never asked.
 */
const requiredField = z.object({
  id: z.string().regex(/^[a-zA-Z][a-zA-Z0-9]*$/),
  label: z.string(),
  question: z.string().min(1).optional(),
  hints: z.array(z.string().min(1).max(200, 'a hint is at most 200 characters')).optional(),
  presentWhen: z.array(z.enum(PRESENCE_SIGNALS)).optional(),
  fromEmail: z.boolean().optional(),
});

/**
 * One step of a type's checklist. The id goes into a URL (PUT /api/cases/:key/checklist/:item) and is
 * stored with each tick, so it is short, lower case and never reused for another step.
 */
const checklistItem = z.object({
  id: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]{0,39}$/,
      'a checklist item id is a lower-case letter then up to 39 lower-case letters, digits or dashes',
    ),
  label: z.string().min(1),
  section: z.string().min(1).optional(),
});

const checklist = z.array(checklistItem).superRefine((items, ctx) => {
  const seen = new Set<string>();
  items.forEach((item, i) => {
    if (seen.has(item.id))
      ctx.addIssue({
        code: 'custom',
        path: [i, 'id'],
        message: `checklist item id ${item.id} is used twice`,
      });
    seen.add(item.id);
  });
});

/**
 * A closure field the case must fill before it is closed, when the case matches: its type is in
 * types (if given), its severity in severities (if given), and a vendor is involved (if
 * whenVendorInvolved). An absent closure section requires nothing, as before it existed.
 */
const closureRequirement = z.object({
  field: z.enum(CLOSURE_FIELDS),
  types: z.array(typeId).min(1).optional(),
  severities: z.array(severityId).min(1).optional(),
  whenVendorInvolved: z.boolean().optional(),
});

/**
 * A monitoring system whose mail opens cases (beside ALERT_SENDERS): the sender (an address, or
 * `@domain` for the domain and its subdomains), the type and severity of the cases it opens
 * (else the suggestion's), and a header that names the alert (else its subject, without state
 * words such as DOWN: or [RESOLVED], does).
 */
const alertSource = z.object({
  sender: z
    .string()
    .regex(/^([^\s@]+@|@)[^\s@]+\.[^\s@]+$/, 'a sender is an address, or @ and a domain such as @github.com'),
  type: typeId.optional(),
  severity: severityId.optional(),
  groupHeader: z.string().min(1).optional(),
});

/**
 * The clocks beside each severity's response time: how often an urgent case needs an update
 * (seed 002: every 30 minutes), the personal-data breach deadline (GDPR Art. 33: 72 hours) and its
 * reminders, and when the post-incident review is due (seed 001: 5 business days for Sev1/2).
 */
const clocksSection = z
  .object({
    update: z
      .object({
        everyMinutes: z.number().positive(),
        remindBeforeMinutes: z.number().nonnegative(),
        severities: z.array(severityId),
      })
      .default({ everyMinutes: 30, remindBeforeMinutes: 5, severities: ['SEV1', 'SEV2'] }),
    breach: z
      .object({
        hours: z.number().positive(),
        remindBeforeHours: z.array(z.number().positive()),
        types: z.array(typeId),
      })
      .default({ hours: 72, remindBeforeHours: [24, 4, 1], types: ['DAT'] }),
    review: z
      .object({ businessDays: z.number().int().positive(), severities: z.array(severityId) })
      .default({ businessDays: 5, severities: ['SEV1', 'SEV2'] }),
  })
  .default({
    update: { everyMinutes: 30, remindBeforeMinutes: 5, severities: ['SEV1', 'SEV2'] },
    breach: { hours: 72, remindBeforeHours: [24, 4, 1], types: ['DAT'] },
    review: { businessDays: 5, severities: ['SEV1', 'SEV2'] },
  });

const schema = z
  .object({
    defaultType: typeId,
    severities: z.record(
      severityId,
      z.object({
        name: z.string(),
        description: z.string(),
        responseMinutes: z.number().positive(),
        urgent: z.boolean(),
      }),
    ),
    types: z.record(
      typeId,
      z.object({
        name: z.string().min(1),
        defaultSeverity: severityId,
        restricted: z.boolean(),
        requiredFields: z.array(requiredField),
      }),
    ),
    urgentMarkers: z.object({
      severity: severityId,
      typeWhenNothingElseMatches: typeId,
      subject: z.array(z.string().min(1)),
      headers: z.array(z.object({ name: z.string().min(1), value: z.string().min(1) })),
    }),
    rules: z.array(rule),
    checklists: z.record(typeId, checklist).default({}),
    closure: z.object({ requirements: z.array(closureRequirement) }).default({ requirements: [] }),
    clocks: clocksSection,
    alertSources: z.array(alertSource).default([]),
  })
  .superRefine((p, ctx) => {
    const known = new Set(Object.keys(p.types));
    const refs = [p.defaultType, p.urgentMarkers.typeWhenNothingElseMatches, ...p.rules.map((r) => r.type)];
    for (const t of refs)
      if (!known.has(t)) ctx.addIssue({ code: 'custom', message: `unknown case type ${t}` });
    p.alertSources.forEach((a, i) => {
      if (a.type && !known.has(a.type))
        ctx.addIssue({
          code: 'custom',
          path: ['alertSources', i, 'type'],
          message: `unknown case type ${a.type}`,
        });
    });
    for (const t of Object.keys(p.checklists))
      if (!known.has(t))
        ctx.addIssue({ code: 'custom', path: ['checklists', t], message: `unknown case type ${t}` });
    p.closure.requirements.forEach((r, i) => {
      for (const t of r.types ?? [])
        if (!known.has(t))
          ctx.addIssue({
            code: 'custom',
            path: ['closure', 'requirements', i, 'types'],
            message: `unknown case type ${t}`,
          });
    });
  });

export type Playbook = z.infer<typeof schema>;
export type PlaybookRule = Playbook['rules'][number];
export type TypeDef = Playbook['types'][string];
export type RequiredField = TypeDef['requiredFields'][number];
export type ChecklistItem = Playbook['checklists'][string][number];
export type ClosureRequirement = Playbook['closure']['requirements'][number];
export type ClockSettings = Playbook['clocks'];
export type AlertSourceRule = Playbook['alertSources'][number];

export const DEFAULT_PLAYBOOK_FILE = path.join(__dirname, 'playbook.default.json');

export class PlaybookError extends Error {}

export function loadPlaybook(file = DEFAULT_PLAYBOOK_FILE): Playbook {
  let data: unknown;
  try {
    data = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new PlaybookError(`PLAYBOOK_FILE ${file} could not be read as JSON: ${(err as Error).message}.`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new PlaybookError(
      `PLAYBOOK_FILE ${file} is invalid at ${issue.path.join('.') || 'top level'}: ${issue.message}.`,
    );
  }
  return parsed.data;
}
