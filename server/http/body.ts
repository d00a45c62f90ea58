import type { z } from 'zod';
import { HttpError } from './errors';

/** A request body checked against its schema; the first problem becomes a 400 naming the field. */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new HttpError(400, 'bad-body', `${issue.path.join('.') || 'body'} ${issue.message}.`);
  }
  return parsed.data;
}
