import { createHash } from 'node:crypto';

/** The SHA-256 of some bytes or text, as lower-case hex. */
export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');
