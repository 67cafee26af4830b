#!/usr/bin/env node
// Builds dist/ (runs on `npm ci`/`npm install` through `prepare`, before `npm pack`, and first in
// `npm test`):
// 1. the library: tsc compiles the sources with declarations (tsconfig.build.json), for `import`
//    from the package and its subpaths;
// 2. the command: esbuild bundles app/cli.ts into dist/cli/ with one chunk per lazily imported
//    command, so `freev2g` starts without resolving hundreds of small module files (start-up
//    figures in docs/performance.md); native packages stay external and load on demand;
// 3. one CommonJS start bundle per command in dist/cli/ (what bin/freev2g.js runs with a V8 code
//    cache when the first argument names a command);
// 4. the run-time data the code reads beside itself (default configs, built-in scenarios, the
//    dashboard page), copied to the same relative places, so `import.meta.url` lookups of the
//    form `../<folder>` work from the sources, dist/<layer>/ and dist/cli/ alike;
// 5. a code cache per start bundle, from a warm-up run of each.
import { isAscii } from 'node:buffer';
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** Folders of run-time data, relative to the package root; each lands at dist/<folder>. */
const ASSETS = ['config', 'web', 'sim/scenarios', 'wireshark'];
/** Optional native packages (and ws's optional accelerators): resolved at run time, never bundled. */
const NATIVE = ['pcap', 'spi-device', 'onoff', 'epoll', 'bufferutil', 'utf-8-validate'];
/** What bin/start-bundle.js passes to a start bundle, in this order. */
const START_BUNDLE_PARAMS = 'exports, require, module, __filename, __dirname, __freev2gImportMetaUrl';
/** The commands of app/cli.ts, each with its own start bundle (step 3). */
const COMMANDS = ['decode', 'sim', 'eth', 'spi', 'certs', 'module-sim', 'wireshark'];

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

// 3. One start bundle per command: app/cli-run.ts with that command imported statically, as one
//    CommonJS file. bin/freev2g.js compiles it through vm.Script with a V8 code cache
//    (bin/start-bundle.js), since Node 20 has no compile cache for ES modules and parsing the
//    chunks above was the largest start-up cost (docs/performance.md, issue 12 target 3). The
//    names carry a hash of the content, so a cache made for another build never matches.
//    import.meta.url becomes the bundle's own URL (a parameter the loader passes), so asset
//    lookups of the form `../<folder>` resolve as from the chunks beside it.
const commandEntry = {
  name: 'freev2g-command-entry',
  setup(b) {
    b.onResolve({ filter: /^freev2g-command:/ }, (a) => ({ path: a.path.slice('freev2g-command:'.length), namespace: 'freev2g-command' }));
    b.onLoad({ filter: /.*/, namespace: 'freev2g-command' }, (a) => ({
      contents: `import { runCli } from './app/cli-run.ts';\nimport { register } from './app/commands/${a.path}.ts';\nexport const main = (argv) => runCli(argv, { ${JSON.stringify(a.path)}: async () => ({ register }) });\n`,
      resolveDir: root,
      loader: 'ts',
    }));
  },
};
const starts = await build({
  entryPoints: Object.fromEntries(COMMANDS.map((c) => [c, `freev2g-command:${c}`])),
  outdir: join(root, 'dist/cli'),
  entryNames: 'start-[name]-[hash]',
  outExtension: { '.js': '.cjs' },
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  external: NATIVE,
  // No comments or indentation: less to read, and ASCII only (esbuild escapes the rest of the
  // code; comments held some UTF-8), so V8 holds the source as a one-byte string.
  minifyWhitespace: true,
  define: { 'import.meta.url': '__freev2gImportMetaUrl' },
  // The file is the function bin/start-bundle.js compiles (its source as it is, no copy to wrap
  // it), in strict mode as every module of the ES module build runs.
  banner: { js: `(function (${START_BUNDLE_PARAMS}) {"use strict";` },
  footer: { js: '})' },
  // import() of a computed name (the native packages, transports/native.ts) becomes require():
  // a real import() from a vm.Script needs an experimental loader option that breaks with the
  // code cache ("A dynamic import callback was not specified").
  supported: { 'dynamic-import': false },
  plugins: [commandEntry],
  metafile: true,
  logLevel: 'warning',
});
const bundles = {};
for (const [file, out] of Object.entries(starts.metafile.outputs)) {
  const command = out.entryPoint?.replace(/^freev2g-command:/, '');
  if (!command) continue;
  bundles[command] = basename(file);
  // bin/start-bundle.js reads it as latin1 (faster than utf8): that is only right for ASCII.
  if (!isAscii(readFileSync(join(root, file)))) throw new Error(`${file}: not ASCII; bin/start-bundle.js reads it as latin1`);
}
if (process.env.FREEV2G_BUILD_META) writeFileSync(`${process.env.FREEV2G_BUILD_META}.start.json`, JSON.stringify(starts.metafile));
writeFileSync(join(root, 'dist/cli/start.json'), `${JSON.stringify({ bundles }, null, 2)}\n`);

// 4. Run-time data.
for (const dir of ASSETS) {
  const from = join(root, dir);
  if (existsSync(from)) cpSync(from, join(root, 'dist', dir), { recursive: true, filter: (p) => !p.endsWith('.ts') });
}

// 5. A code cache for each start bundle (bin/start-bundle.js writes it when a run ends without
//    one): running `<command> --help` compiles the bundle's top level and the command's
//    registration, which is all the parsing a start needs up front. Without it the first run of
//    each command writes one, where dist/ is writable. A failure here only costs that.
const bin = join(root, 'bin/freev2g.js');
const warmEnv = { ...process.env };
delete warmEnv.FREEV2G_CODE_CACHE_DIR;
delete warmEnv.FREEV2G_FROM_SOURCE;
await Promise.all(
  COMMANDS.map(
    (c) =>
      new Promise((resolve) => {
        execFile(process.execPath, [bin, c, '--help'], { env: warmEnv }, (e) => {
          if (e) console.warn(`build: no code cache for ${c} (${e.message.split('\n')[0]})`);
          resolve();
        });
      }),
  ),
);
