#!/usr/bin/env node
// Builds dist/ (runs on `npm ci`/`npm install` through `prepare`, before `npm pack`, and first in
// `npm test`):
// 1. the library: tsc compiles the sources with declarations (tsconfig.build.json), for `import`
//    from the package and its subpaths;
// 2. the command: esbuild bundles app/cli.ts into dist/cli/ with one chunk per lazily imported
//    command, so `freev2g` starts without resolving hundreds of small module files (start-up
//    figures in docs/performance.md); native packages stay external and load on demand;
// 3. the run-time data the code reads beside itself (default configs, built-in scenarios, the
//    dashboard page), copied to the same relative places, so `import.meta.url` lookups of the
//    form `../<folder>` work from the sources, dist/<layer>/ and dist/cli/ alike.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Folders of run-time data, relative to the package root; each lands at dist/<folder>. */
const ASSETS = ['config', 'web', 'sim/scenarios', 'wireshark'];
/** Optional native packages (and ws's optional accelerators): resolved at run time, never bundled. */
const NATIVE = ['pcap', 'spi-device', 'onoff', 'epoll', 'bufferutil', 'utf-8-validate'];

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

rmSync(join(root, 'dist/cli'), { recursive: true, force: true });
const result = await build({
  entryPoints: [join(root, 'app/cli.ts')],
  outdir: join(root, 'dist/cli'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: NATIVE,
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
  // FREEV2G_BUILD_META=<file>: esbuild's metafile, to see what each chunk holds (docs/performance.md).
  metafile: process.env.FREEV2G_BUILD_META !== undefined,
  // CommonJS dependencies (commander, ws) call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __freev2gRequire } from 'node:module'; const require = __freev2gRequire(import.meta.url);" },
});

if (process.env.FREEV2G_BUILD_META) writeFileSync(process.env.FREEV2G_BUILD_META, JSON.stringify(result.metafile));

for (const dir of ASSETS) {
  const from = join(root, dir);
  if (existsSync(from)) cpSync(from, join(root, 'dist', dir), { recursive: true, filter: (p) => !p.endsWith('.ts') });
}
