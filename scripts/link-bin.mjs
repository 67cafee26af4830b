#!/usr/bin/env node
// Links the package's own command into node_modules/.bin (runs on `npm ci`/`npm install` through
// `prepare`), so `npx freev2g` in a checkout runs this checkout's CLI. npm 11 finds a project's
// own bin by itself; npm 10 (the one Node 20 ships) looks only in node_modules/.bin, then asks
// the registry, where no `freev2g` exists (a 404). A `file:.` self-dependency would do it too,
// but puts the package inside its own tree. Best effort: a failure warns and never fails install.
import { lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const binDir = join(root, 'node_modules', '.bin');

const existing = (path) => {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : '';
  } catch {
    return undefined;
  }
};

for (const [name, file] of Object.entries(bin ?? {})) {
  const link = join(binDir, name);
  const target = relative(binDir, join(root, file));
  try {
    if (existing(link) === target) continue;
    mkdirSync(binDir, { recursive: true });
    rmSync(link, { force: true });
    symlinkSync(target, link);
  } catch (e) {
    process.stderr.write(`freev2g: could not link ${link} (${e instanceof Error ? e.message : String(e)}); run the CLI as \`node ${file}\`\n`);
  }
}
