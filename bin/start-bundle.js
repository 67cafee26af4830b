// Loads a command's start bundle (dist/cli/start-<command>-<hash>.cjs, scripts/build.mjs) with a
// V8 code cache, the way v8-compile-cache does: Node 20 has no compile cache for ES modules, and
// parsing the bundle was the largest part of start-up (docs/performance.md, issue 12 target 3).
// The bundle is compiled through the public vm.Script API with the cached data beside it. V8
// checks that data (its version, flags, the source) and rejects what does not fit; a missing or
// rejected cache is written anew when the process exits. The build leaves one per command; a
// read-only install without one keeps the ES module build, which parses faster than an uncached
// bundle. Nothing here may fail a start: any problem with the manifest or the bundle returns
// undefined (bin/freev2g.js then loads the ES module build), and a cache that cannot be read or
// written is skipped.
import { accessSync, constants, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import vm from 'node:vm';

/** Where the caches live unless FREEV2G_CODE_CACHE_DIR says otherwise ('' turns them off). */
const CACHE_DIR = 'cache';

/**
 * The `main` of the start bundle for `command`, or undefined when there is none (help, an
 * unknown word, an old build) or it cannot be loaded this way.
 * @param {URL} distCli dist/cli/ as a directory URL
 * @param {string | undefined} command the first argument
 * @param {{ cacheDir?: string }} [options] cache directory ('' = no cache); default
 *   FREEV2G_CODE_CACHE_DIR, else dist/cli/cache
 * @returns {((argv: string[]) => Promise<number>) | undefined}
 */
export function loadStartBundle(distCli, command, options = {}) {
  if (command === undefined) return undefined;
  let file;
  try {
    const { bundles } = JSON.parse(readFileSync(new URL('start.json', distCli), 'utf8'));
    if (!Object.hasOwn(bundles, command)) return undefined;
    file = fileURLToPath(new URL(bundles[command], distCli));
  } catch {
    return undefined;
  }
  const dir = options.cacheDir ?? process.env.FREEV2G_CODE_CACHE_DIR ?? fileURLToPath(new URL(CACHE_DIR, distCli));
  // One cache per bundle (its name holds a hash of its content) and per Node: V8 would reject
  // another version's data anyway, and two versions must not keep overwriting each other's.
  const cacheFile = dir === '' ? undefined : join(dir, `${basename(file)}.${process.version}-${process.arch}.v8`);
  let cachedData;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // Without a cache the one-file bundle parses slower than the ES module chunks (it also holds
  // what the command imports only on demand): take it only when this run can leave a cache.
  if (cachedData === undefined && !(cacheFile && canWrite(dirname(cacheFile)))) return undefined;
  let source;
  try {
    // The build checks the bundle is ASCII, so latin1 reads it right, and ~40 % faster than utf8.
    source = readFileSync(file, 'latin1');
  } catch {
    return undefined;
  }
  // The bundle is one function expression (scripts/build.mjs wraps it), compiled as it is.
  const script = new vm.Script(source, { filename: file, cachedData });
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    // At exit the cache also holds the functions this run compiled, not only the top level.
    process.once('exit', () => writeCache(script, cacheFile));
  }
  const mod = { exports: {} };
  // (exports, require, module, __filename, __dirname, import.meta.url), as the build declares them.
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, dirname(file), pathToFileURL(file).href);
  return mod.exports.main;
}

/** Whether the cache directory, or the nearest existing one above it, may be written. */
function canWrite(dir) {
  for (let d = dir; ; d = dirname(d)) {
    try {
      accessSync(d, constants.W_OK);
      return true;
    } catch (e) {
      if (e.code !== 'ENOENT' || dirname(d) === d) return false;
    }
  }
}

/** Writes the cache through a temporary file, so a concurrent start never reads half of one. */
function writeCache(script, cacheFile) {
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
  } catch {
    // A read-only install: start-up stays as without a cache.
  }
}
