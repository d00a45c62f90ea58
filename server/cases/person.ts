import type { UserDoc } from '../auth/users';
import type { Person } from './models';

/** A member as a case records them (an owner, who made a change): id and name at the time. */
export const person = (user: UserDoc): Person => ({ id: String(user._id), name: user.name });
