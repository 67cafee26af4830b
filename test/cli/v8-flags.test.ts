/**
 * The V8 flags every freev2g process runs with (bin/v8-flags.js, set by bin/freev2g.js first):
 * `--no-memory-reducer-for-small-heaps` and `--memory-reducer-single-gc`, so that an idle host's
 * first minute holds no memory-reducer GC, where it held three (docs/performance.md, issue 12
 * target 2, ninth round). V8 gives no way to read a flag
 * back, but its flags are part of what a code cache must match: a cache made by a Node without
 * them is rejected by one that applied them, and the other way round.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/app-helpers.js';

const SOURCE = 'function f(a) { return a + 1; } f(1);';
const FLAGS_URL = pathToFileURL(join(ROOT, 'bin/v8-flags.js')).href;

/** In a fresh Node (with bin/v8-flags.js applied first, or not): a code cache of SOURCE, base64. */
function makeCache(applied: boolean): string {
  const script = `
    import vm from 'node:vm';
    ${applied ? `(await import(${JSON.stringify(FLAGS_URL)})).applyV8Flags();` : ''}
    console.log(new vm.Script(${JSON.stringify(SOURCE)}).createCachedData().toString('base64'));`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim();
}

/** In a fresh Node: whether `cache` fits, with bin/v8-flags.js applied first or not. */
function accepted(cache: string, applied: boolean): boolean {
  const script = `
    import vm from 'node:vm';
    ${applied ? `(await import(${JSON.stringify(FLAGS_URL)})).applyV8Flags();` : ''}
    const s = new vm.Script(${JSON.stringify(SOURCE)}, { cachedData: Buffer.from(${JSON.stringify(cache)}, 'base64') });
    console.log(s.cachedDataRejected ? 'rejected' : 'accepted');`;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' }).trim() === 'accepted';
}

describe('V8 flags of the freev2g processes', () => {
  it('no memory-reducer GC after start-up, one instead of three later (the flags are on)', async () => {
    const { V8_FLAGS } = (await import(FLAGS_URL)) as { V8_FLAGS: string[] };
    expect(V8_FLAGS).toEqual(['--no-memory-reducer-for-small-heaps', '--memory-reducer-single-gc']);
    // The flags took effect: a cache made without them no longer fits, one made with them does.
    const plain = makeCache(false);
    const flagged = makeCache(true);
    expect(accepted(plain, false)).toBe(true);
    expect(accepted(plain, true)).toBe(false);
    expect(accepted(flagged, true)).toBe(true);
  });

  it('bin/freev2g.js applies them before it loads anything compiled', async () => {
    const { readFile } = await import('node:fs/promises');
    const bin = await readFile(join(ROOT, 'bin/freev2g.js'), 'utf8');
    const applied = bin.indexOf('applyV8Flags();');
    expect(applied).toBeGreaterThan(0);
    expect(applied).toBeLessThan(bin.indexOf('loadStartBundle'));
    expect(applied).toBeLessThan(bin.indexOf("import('../app/cli.ts')"));
  });
});
