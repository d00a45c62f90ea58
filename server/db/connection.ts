import mongoose from 'mongoose';
import type { Logger } from '../lib/logger';

/**
 * One mongoose connection per process. The code runs on MongoDB and on FerretDB alike: no
 * transactions, no change streams, no $text; exactly-once comes from unique indexes.
 */
export async function connectDatabase(uri: string, log: Logger): Promise<typeof mongoose> {
  mongoose.set('strictQuery', true);
  mongoose.set('autoIndex', false);
  await mongoose.connect(uri, { serverSelectionTimeoutMS: 15_000, maxPoolSize: 20 });
  // Indexes are built once, before any request or ingest can rely on them.
  await Promise.all(Object.values(mongoose.models).map((m) => m.createIndexes()));
  log.info({ models: Object.keys(mongoose.models).length }, 'database connected');
  return mongoose;
}

export async function pingDatabase(): Promise<boolean> {
  const db = mongoose.connection.db;
  if (mongoose.connection.readyState !== 1 || !db) return false;
  try {
    await db.admin().command({ ping: 1 });
    return true;
  } catch {
    return false;
  }
}

export const isDuplicateKey = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;

/** Errors that say the database, not the message, is the problem: retry later, never quarantine. */
export function isTransientDbError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const name = err.name;
  return (
    name === 'MongoNetworkError' ||
    name === 'MongoServerSelectionError' ||
    name === 'MongoNetworkTimeoutError' ||
    name === 'MongoNotConnectedError' ||
    name === 'MongoPoolClearedError' ||
    name === 'MongoTopologyClosedError' ||
    /ECONNREFUSED|ECONNRESET|EPIPE|connection .* closed/i.test(err.message)
  );
}
