/**
 * A change the case's rules refuse: a field that does not exist, a move the status map does not
 * allow, a closure record with gaps, a breach record on a case without a breach clock. `kind` says
 * what sort of refusal it is; the HTTP layer turns it into 400, 409 or 404, `code` into the error.
 */
export class CaseRefusal extends Error {
  constructor(
    readonly kind: 'invalid' | 'conflict' | 'not-found',
    readonly code: string,
    message: string,
    readonly fields?: Record<string, unknown>,
  ) {
    super(message);
  }
}
