/**
 * The shapes of what the committee records on a case (the closure record, the vendor contact),
 * shared by the server and the PWA. No imports: the PWA's bundle takes this file as it is.
 */

export interface FollowUp {
  task: string;
  owner: string;
  /** An ISO date, YYYY-MM-DD. */
  due: string;
}

export interface ClosureRecord {
  rootCause?: string;
  vendorActions?: string;
  accountChanges?: string;
  followUps?: FollowUp[];
  lessons?: string;
}

export interface VendorContact {
  name?: string;
  organisation?: string;
  email?: string;
  phone?: string;
  ticket?: string;
}
