/**
 * The arrows of seed 000's state diagram, copied from the seed rather than from the module, so
 * that the tests hold the status map to the seed.
 */
export const SEED_EDGES = [
  'New --> Triage',
  'Triage --> InProgress',
  'Triage --> WaitingForVendor',
  'WaitingForVendor --> InProgress',
  'InProgress --> Monitoring',
  'Monitoring --> Closed',
  'InProgress --> Escalated',
  'Escalated --> Monitoring',
  'Triage --> Closed',
];

/** The statuses the seed lets a case in `from` move to. */
export const seedNext = (from: string) =>
  SEED_EDGES.filter((e) => e.startsWith(`${from} --> `)).map((e) => e.split(' --> ')[1]!);
