import { build } from 'esbuild';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { injectManifest } from 'workbox-build';
import { writeIcons } from './build-icons';
import { webManifest } from './src/sw/manifest';

/**
 * The installable, offline half of the build, run by build.ts once the page is in `distDir`:
 * writes the web manifest and its icons, bundles src/sw/sw.ts, and injects the precache list of
 * the app shell (everything the page build wrote, and the manifest and icons) into dist/sw.js.
 */

const SW_SOURCE = path.join(__dirname, 'src', 'sw', 'sw.ts');
const SW_TSCONFIG = path.join(__dirname, 'src', 'sw', 'tsconfig.json');

export async function buildServiceWorker(distDir: string): Promise<void> {
  await fs.access(path.join(distDir, 'index.html')).catch(() => {
    throw new Error(`buildServiceWorker: ${distDir} has no index.html; build the page first`);
  });

  const icons = await writeIcons(distDir);
  await fs.writeFile(
    path.join(distDir, 'manifest.webmanifest'),
    JSON.stringify({ ...webManifest, icons }, null, 2) + '\n',
  );

  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'tocsin-sw-'));
  try {
    const bundled = path.join(tmp, 'sw.js');
    await build({
      entryPoints: [SW_SOURCE],
      outfile: bundled,
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      minify: true,
      tsconfig: SW_TSCONFIG,
      // Workbox's development logging and assertions are dropped in production builds.
      define: { 'process.env.NODE_ENV': '"production"' },
      logLevel: 'warning',
    });
    const { count, size, warnings } = await injectManifest({
      swSrc: bundled,
      swDest: path.join(distDir, 'sw.js'),
      globDirectory: distDir,
      globPatterns: ['**/*.{html,js,css,webmanifest,png,svg}'],
      globIgnores: ['sw.js'],
    });
    for (const warning of warnings) process.stderr.write(`build-sw: ${warning}\n`);
    process.stdout.write(`build-sw: sw.js precaches ${count} files (${(size / 1024).toFixed(1)} KiB)\n`);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const distDir = path.resolve(process.argv[2] ?? path.join(__dirname, 'dist'));
  buildServiceWorker(distDir).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
