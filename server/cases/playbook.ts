import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** The playbook: case types, severities and suggestion rules, as data the committee can edit. */

const severityId = z.enum(['SEV1', 'SEV2', 'SEV3', 'SEV4']);
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
  })
  .superRefine((p, ctx) => {
    const known = new Set(Object.keys(p.types));
    const refs = [p.defaultType, p.urgentMarkers.typeWhenNothingElseMatches, ...p.rules.map((r) => r.type)];
    for (const t of refs)
      if (!known.has(t)) ctx.addIssue({ code: 'custom', message: `unknown case type ${t}` });
  });

export type Playbook = z.infer<typeof schema>;
export type PlaybookRule = Playbook['rules'][number];
export type TypeDef = Playbook['types'][string];
export type RequiredField = TypeDef['requiredFields'][number];

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
