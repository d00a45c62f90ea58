import type { UserDoc } from './users';

/**
 * Who may do what: the one place authorisation is decided. Handlers ask here and never check
 * roles themselves.
 *
 * A restricted case (DAT and DEV by default, from the first minute) shows its content only to its
 * owner, leads and admins; other members see that it exists and nothing more.
 */

export type Action =
  /** Read a case's content: subject, reporter, timeline, attachments, fields. */
  | 'case:read'
  /** Triage, note, reply, tick the checklist, record vendor updates. */
  | 'case:work'
  /** Lift the restriction on a case. */
  | 'case:unrestrict'
  /** Invite a member or change a role. */
  | 'members:manage';

/** What a policy check needs to know of a case. */
export interface CaseAccess {
  restricted?: boolean | null;
  owner?: { id?: string | null } | null;
}

export class PolicyError extends Error {
  constructor(
    readonly code: 'case-restricted' | 'forbidden',
    message: string,
  ) {
    super(message);
  }
}

const privileged = (user: UserDoc) => user.role === 'lead' || user.role === 'admin';

const ownerOf = (user: UserDoc, c: CaseAccess) => !!c.owner?.id && c.owner.id === String(user._id);

/** Whether the member may see this case's content. */
export function seesCase(user: UserDoc, c: CaseAccess): boolean {
  return !c.restricted || privileged(user) || ownerOf(user, c);
}

export function can(user: UserDoc, action: Action, c?: CaseAccess): boolean {
  switch (action) {
    case 'case:read':
    case 'case:work':
      return !c || seesCase(user, c);
    case 'case:unrestrict':
      return privileged(user);
    case 'members:manage':
      return user.role === 'admin';
  }
}

const REFUSALS: Record<Action, string> = {
  'case:read': 'This case is restricted: only its owner, leads and admins see it.',
  'case:work': 'This case is restricted: only its owner, leads and admins work on it.',
  'case:unrestrict': 'Only leads and admins lift a case’s restriction.',
  'members:manage': 'Only admins invite members or change roles.',
};

/** Throws a PolicyError when the member may not. */
export function authorize(user: UserDoc, action: Action, c?: CaseAccess): void {
  if (can(user, action, c)) return;
  const restrictedCase = (action === 'case:read' || action === 'case:work') && !!c?.restricted;
  throw new PolicyError(restrictedCase ? 'case-restricted' : 'forbidden', REFUSALS[action]);
}
