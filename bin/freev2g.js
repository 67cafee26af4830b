#!/usr/bin/env node
// Entry point of the `freev2g` command: the compiled CLI in dist/ (built by `npm ci`/`npm install`
// through the package's prepare script, and shipped in the packed tarball). A checkout without a
// build, or FREEV2G_FROM_SOURCE=1, runs the TypeScript sources through tsx instead (dev only).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/cli.js', import.meta.url);
let main;
if (process.env.FREEV2G_FROM_SOURCE !== '1' && existsSync(compiled)) {
  ({ main } = await import(compiled.href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../app/cli.ts'));
}
process.exitCode = await main(process.argv.slice(2));
