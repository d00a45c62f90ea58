import type { CaseWrite } from '../writes';

/** What a section calls to change the case: resolves once done, queued or in conflict. */
export type Apply = (w: CaseWrite) => Promise<void>;
