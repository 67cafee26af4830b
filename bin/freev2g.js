#!/usr/bin/env node
// Entry point of the `freev2g` command: the compiled CLI in dist/ (built by `npm ci`/`npm install`
// through the package's prepare script, and shipped in the packed tarball). A command named as
// the first argument starts from its own bundle with a V8 code cache (bin/start-bundle.js);
// anything else (help, --version, an unknown word) loads the ES module build. A checkout
// without a build, or FREEV2G_FROM_SOURCE=1, runs the TypeScript sources through tsx instead
// (dev only).
import { existsSync } from 'node:fs';
import { applyV8Flags } from './v8-flags.js';

applyV8Flags();

const distCli = new URL('../dist/cli/', import.meta.url);
const compiled = new URL('cli.js', distCli);
let main;
if (process.env.FREEV2G_FROM_SOURCE !== '1' && existsSync(compiled)) {
  const { loadStartBundle } = await import('./start-bundle.js');
  main = loadStartBundle(distCli, process.argv[2]) ?? (await import(compiled.href)).main;
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../app/cli.ts'));
}
process.exitCode = await main(process.argv.slice(2));
