import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile } from 'esbuild';

/**
 * Builds the PWA into pwa/dist: the shell from pwa/public, the page bundled by esbuild into
 * app.js and app.css, then the service worker (pwa/build-sw.ts, when present). Fails when the
 * first screen's JavaScript is over its budget, gzipped.
 *
 *   node --import tsx pwa/build.ts
 */

const ROOT = __dirname;
const DIST = path.join(ROOT, 'dist');
/** The budget for the first screen's JavaScript, gzipped. */
export const BUDGET_BYTES = 60 * 1024;

/** How the budget counts a file: its bytes gzipped at level 9 (the bench counts the same way). */
export const gzippedBytes = (content: Buffer): number => gzipSync(content, { level: 9 }).length;

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

/** The entry's output and every chunk it imports statically: what the first screen loads. */
function firstScreenFiles(meta: Metafile, entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const i of meta.outputs[file]?.imports ?? []) if (i.kind === 'import-statement') visit(i.path);
  };
  visit(entry);
  return [...seen].filter((f) => f.endsWith('.js'));
}

interface SwModule {
  buildServiceWorker?: (distDir: string) => Promise<void>;
  default?: { buildServiceWorker?: (distDir: string) => Promise<void> };
}

async function main(): Promise<void> {
  const started = Date.now();
  await rm(DIST, { recursive: true, force: true });
  await mkdir(DIST, { recursive: true });
  await cp(path.join(ROOT, 'public'), DIST, { recursive: true });

  const result = await build({
    absWorkingDir: process.cwd(),
    entryPoints: { app: path.join(ROOT, 'src', 'app', 'main.tsx') },
    tsconfig: path.join(ROOT, 'src', 'app', 'tsconfig.json'),
    outdir: DIST,
    bundle: true,
    format: 'esm',
    target: 'es2020',
    platform: 'browser',
    minify: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });

  const entry = Object.keys(result.metafile.outputs).find(
    (f) => result.metafile.outputs[f]!.entryPoint !== undefined && f.endsWith('app.js'),
  );
  if (!entry) throw new Error('esbuild wrote no app.js');
  let gzipped = 0;
  for (const file of firstScreenFiles(result.metafile, entry))
    gzipped += gzippedBytes(await readFile(path.resolve(process.cwd(), file)));

  const swBuilder = path.join(ROOT, 'build-sw.ts');
  if (existsSync(swBuilder)) {
    const mod = (await import(pathToFileURL(swBuilder).href)) as SwModule;
    const buildServiceWorker = mod.buildServiceWorker ?? mod.default?.buildServiceWorker;
    if (typeof buildServiceWorker !== 'function')
      throw new Error('pwa/build-sw.ts does not export buildServiceWorker(distDir)');
    await buildServiceWorker(DIST);
  } else {
    process.stdout.write('pwa/build-sw.ts is absent: no service worker built.\n');
  }

  process.stdout.write(
    `PWA built into ${path.relative(process.cwd(), DIST) || DIST} in ${Date.now() - started} ms; ` +
      `first screen JavaScript ${kb(gzipped)} gzipped (budget ${kb(BUDGET_BYTES)}).\n`,
  );
  if (gzipped > BUDGET_BYTES) {
    process.stderr.write(
      `The first screen's JavaScript is ${kb(gzipped)} gzipped, over the ${kb(BUDGET_BYTES)} budget.\n`,
    );
    process.exitCode = 1;
  }
}

// Builds when run; importing the file (as the bench does, for the budget) builds nothing.
if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `PWA build failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  });
}
