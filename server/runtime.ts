import fs from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import type { Config } from './config';
import { connectDatabase } from './db/connection';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './db/embedded';
import type { Logger } from './logger';
import { loadPlaybook } from './cases/playbook';
import { compilePlaybook } from './cases/suggest';
import { Intake } from './mail/ingest';

/**
 * What the server and the CLI share: the database (embedded when MONGODB_URI is unset), the
 * playbook, and the intake pipeline. While the server runs its embedded database, the CLI uses
 * that one (found through DATA_DIR/embedded.json) rather than starting a second.
 */
export interface Runtime {
  intake: Intake;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, log: Logger, opts: { publish: boolean }): Promise<Runtime> {
  const playbook = compilePlaybook(loadPlaybook(config.playbookFile));
  let embedded: EmbeddedDatabase | undefined;
  let uri = config.mongodbUri ?? runningEmbedded(config.dataDir);
  if (!uri) {
    embedded = await startEmbeddedDatabase(config.dataDir, log);
    uri = embedded.uri;
    if (opts.publish) writeRunning(config.dataDir, uri);
  }
  try {
    await connectDatabase(uri, log);
  } catch (err) {
    await embedded?.stop();
    throw err;
  }
  return {
    intake: new Intake({ playbook, log }),
    close: async () => {
      await mongoose.disconnect();
      if (embedded) {
        if (opts.publish) fs.rmSync(runningFile(config.dataDir), { force: true });
        await embedded.stop();
      }
    },
  };
}

const runningFile = (dataDir: string) => path.join(dataDir, 'embedded.json');

function writeRunning(dataDir: string, uri: string): void {
  fs.writeFileSync(runningFile(dataDir), JSON.stringify({ uri, pid: process.pid }) + '\n');
}

function runningEmbedded(dataDir: string): string | undefined {
  try {
    const { uri, pid } = JSON.parse(fs.readFileSync(runningFile(dataDir), 'utf8')) as {
      uri: string;
      pid: number;
    };
    process.kill(pid, 0); // throws when that server is gone
    return uri;
  } catch {
    return undefined;
  }
}
