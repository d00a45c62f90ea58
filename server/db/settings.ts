import mongoose, { Schema } from 'mongoose';

/**
 * Values the desk keeps for itself, one document each: the reply-marker secret, a rotated OAuth
 * refresh token. Every instance reads the same one.
 */
export const Setting = mongoose.model(
  'Setting',
  new Schema({ _id: String, value: { type: String, required: true } }, { versionKey: false }),
  'settings',
);

/** One kept value, read and replaced as a whole. */
export function keptValue(id: string): {
  load(): Promise<string | undefined>;
  save(value: string): Promise<void>;
} {
  return {
    load: async () => (await Setting.findById(id).lean())?.value,
    save: async (value) => {
      await Setting.updateOne({ _id: id }, { $set: { value } }, { upsert: true });
    },
  };
}
