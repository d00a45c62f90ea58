import mongoose, { Schema } from 'mongoose';
import { sha256 } from '../lib/hash';
import { isDuplicateKey } from './connection';

/**
 * Content-addressed storage for raw messages and attachments, byte for byte. A blob is known by
 * its SHA-256; writing it twice is harmless. Small blobs sit in one document; larger ones are
 * split into chunks that are written before the blob document that makes them visible.
 */

const CHUNK = 4 * 1024 * 1024;

const Blob = mongoose.model(
  'Blob',
  new Schema(
    {
      _id: String,
      size: { type: Number, required: true },
      chunks: { type: Number, required: true },
      data: Buffer,
      createdAt: { type: Date, default: () => new Date() },
    },
    { versionKey: false },
  ),
  'blobs',
);

const BlobChunk = mongoose.model(
  'BlobChunk',
  new Schema({ _id: String, data: { type: Buffer, required: true } }, { versionKey: false }),
  'blob_chunks',
);

export async function putBlob(data: Buffer, sha?: string): Promise<string> {
  const id = sha ?? sha256(data);
  const chunks = data.length <= CHUNK ? 0 : Math.ceil(data.length / CHUNK);
  if (chunks > 0 && (await Blob.exists({ _id: id }))) return id;
  for (let n = 0; n < chunks; n++) {
    const part = data.subarray(n * CHUNK, (n + 1) * CHUNK);
    await BlobChunk.updateOne({ _id: `${id}:${n}` }, { $setOnInsert: { data: part } }, { upsert: true });
  }
  try {
    await Blob.create({ _id: id, size: data.length, chunks, data: chunks === 0 ? data : undefined });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  return id;
}

export async function getBlob(id: string): Promise<Buffer | undefined> {
  const blob = await Blob.findById(id);
  if (!blob) return undefined;
  if (blob.chunks === 0) return Buffer.from(blob.data ?? []);
  const parts: Buffer[] = [];
  for (let n = 0; n < blob.chunks; n++) {
    const chunk = await BlobChunk.findById(`${id}:${n}`);
    if (!chunk) throw new Error(`blob ${id} is missing chunk ${n}`);
    parts.push(Buffer.from(chunk.data));
  }
  return Buffer.concat(parts);
}
