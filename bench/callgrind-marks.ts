/**
 * A bench that counts instructions between two marks runs itself under callgrind (issue 12
 * target 1): node in the interpreter (`--predictable --single-threaded --no-opt --no-sparkplug`:
 * a path run ~5 times a second never tiers up on the wire), a zero mark before each round (a
 * call of `Uint8Array.prototype.findLast`, which nothing else calls) and a dump mark where the
 * round ends (`findLastIndex`). Each dump then holds exactly one round's instructions.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MARK = new Uint8Array(1) as unknown as { findLast(f: () => boolean): unknown; findLastIndex(f: () => boolean): number };
const never = (): boolean => false;

/** Zero callgrind's counters here (the round starts). */
export const zeroMark = (): unknown => MARK.findLast(never);
/** Dump callgrind's counters here (the round ends). */
export const dumpMark = (): number => MARK.findLastIndex(never);

/**
 * Runs `script` (the bench itself) under callgrind with the arguments of this process except
 * `--callgrind`, and returns the instructions of each round, in order.
 */
export function callgrindRounds(script: string, prefix: string): number[] {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    const passOn = process.argv.slice(2).filter((a) => a !== '--callgrind');
    execFileSync(
      'valgrind',
      [
        '--tool=callgrind',
        `--callgrind-out-file=${dir}/cg.out`,
        '--zero-before=Builtins_TypedArrayPrototypeFindLast',
        '--dump-before=Builtins_TypedArrayPrototypeFindLastIndex',
        process.execPath,
        ...['--predictable', '--single-threaded', '--no-opt', '--no-sparkplug', '--import', 'tsx'],
        script,
        ...passOn,
      ],
      { stdio: ['ignore', 'inherit', 'ignore'], cwd: new URL('..', import.meta.url).pathname },
    );
    // One dump per round (cg.out.1, .2, ...), then the final one at exit (cg.out).
    return readdirSync(dir)
      .flatMap((f) => {
        const m = /^cg\.out\.(\d+)$/.exec(f);
        return m ? [{ n: Number(m[1]), file: join(dir, f) }] : [];
      })
      .sort((a, b) => a.n - b.n)
      .map((d) => Number(/^(?:summary|totals):\s*(\d+)/m.exec(readFileSync(d.file, 'utf8'))?.[1] ?? Number.NaN));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
