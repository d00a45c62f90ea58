import { z } from 'zod';
import { CLOSURE_FIELDS } from '../cases/closure';
import { STATUSES } from '../cases/lifecycle';
import type { Playbook } from '../cases/playbook';
import { addNote, addVendorUpdate, patchCase, setChecklistItem } from '../cases/triage';
import { caseDetail } from './case-json';
import { parseBody } from './body';
import { wrap, type ApiRoute } from './route-kit';

/** The triage API: every change is one timeline entry, and every write names the version it saw. */

const version = z.number().int().min(0);
const text = (max: number) => z.string().trim().min(1, 'must not be empty').max(max);
const optionalText = (max: number) => z.string().trim().max(max).optional();

const closureBody = z
  .object({
    rootCause: optionalText(20_000),
    vendorActions: optionalText(20_000),
    accountChanges: optionalText(20_000),
    followUps: z
      .array(
        z
          .object({
            task: z.string().trim().max(2000).default(''),
            owner: z.string().trim().max(320).default(''),
            due: z.string().trim().max(10).default(''),
          })
          .strict(),
      )
      .max(100)
      .optional(),
    lessons: optionalText(20_000),
  })
  .strict();

const patchBody = z
  .object({
    version,
    type: z.string().max(10).optional(),
    severity: z.enum(['SEV1', 'SEV2', 'SEV3', 'SEV4']).optional(),
    status: z.enum(STATUSES).optional(),
    owner: z.string().trim().max(320).nullable().optional(),
    vendorContact: z
      .object({
        name: optionalText(200),
        organisation: optionalText(200),
        email: optionalText(320),
        phone: optionalText(50),
        ticket: optionalText(200),
      })
      .strict()
      .refine(
        (v) => Object.values(v).some(Boolean),
        'must name the vendor contact (name, organisation, email, phone or ticket), or be null to clear it',
      )
      .nullable()
      .optional(),
    restricted: z.boolean().optional(),
    personalData: z.boolean().optional(),
    fields: z
      .record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9]{0,39}$/), z.string().max(20_000).nullable())
      .optional(),
    closure: closureBody.optional(),
    reason: optionalText(2000),
  })
  .strict();

const noteBody = z.object({ version, text: text(100_000) }).strict();

const vendorUpdateBody = z
  .object({
    version,
    vendor: text(200),
    reference: optionalText(200),
    text: text(100_000),
    receivedAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();

const checklistBody = z.object({ version, done: z.boolean() }).strict();

const VERSION_DOC = 'the case version you last saw (GET returns it); a stale one answers 412';

export function triageRoutes(playbook: () => Playbook): ApiRoute[] {
  return [
    {
      method: 'patch',
      path: '/cases/:key',
      access: 'case:work',
      summary:
        'Triage: change any of the fields below. 409 illegal-transition {allowed} for a move the status map forbids; 409 closure-incomplete {missing} to close too early',
      body: {
        version: VERSION_DOC,
        type: 'case type key',
        severity: 'SEV1 to SEV4',
        status: 'the next status; from Closed, reopening to Triage needs `reason`',
        owner: 'a member id or address, or null',
        vendorContact: '{ name, organisation, email, phone, ticket } or null',
        restricted: 'boolean; only leads and admins lift it',
        personalData: 'boolean: personal data is involved',
        fields: 'per-type fields by id, such as { "service": "Website" }; null clears one',
        closure: `the closure record: ${CLOSURE_FIELDS.join(', ')} (followUps: [{ task, owner, due }])`,
        reason: 'why: needed to reopen, and to close a non-case straight from Triage',
      },
      handler: wrap(async (req) => {
        const { version: seen, ...patch } = parseBody(patchBody, req.body);
        const doc = await patchCase(String(req.params.key), seen, patch, req.user!, playbook());
        return caseDetail(doc, playbook());
      }),
    },
    {
      method: 'post',
      path: '/cases/:key/notes',
      access: 'case:work',
      summary: 'Add a note to the timeline',
      body: { version: VERSION_DOC, text: 'the note' },
      handler: wrap(async (req) => {
        const body = parseBody(noteBody, req.body);
        return caseDetail(
          await addNote(String(req.params.key), body.version, body.text, req.user!),
          playbook(),
        );
      }, 201),
    },
    {
      method: 'post',
      path: '/cases/:key/vendor-updates',
      access: 'case:work',
      summary: 'Record a vendor’s reply with the vendor’s ticket reference',
      body: {
        version: VERSION_DOC,
        vendor: 'the vendor',
        reference: 'the vendor’s ticket reference',
        text: 'what the vendor said',
        receivedAt: 'optional ISO time it arrived',
      },
      handler: wrap(async (req) => {
        const { version: seen, receivedAt, ...update } = parseBody(vendorUpdateBody, req.body);
        const doc = await addVendorUpdate(
          String(req.params.key),
          seen,
          { ...update, receivedAt: receivedAt ? new Date(receivedAt) : undefined },
          req.user!,
        );
        return caseDetail(doc, playbook());
      }, 201),
    },
    {
      method: 'put',
      path: '/cases/:key/checklist/:item',
      access: 'case:work',
      summary: 'Tick or untick an item of the case type’s checklist',
      body: { version: VERSION_DOC, done: 'boolean' },
      handler: wrap(async (req) => {
        const body = parseBody(checklistBody, req.body);
        const doc = await setChecklistItem(
          String(req.params.key),
          body.version,
          String(req.params.item),
          body.done,
          req.user!,
          playbook(),
        );
        return caseDetail(doc, playbook());
      }),
    },
  ];
}
