// V8 flags of every freev2g process, set by bin/freev2g.js before anything else is compiled: the
// flags are part of what a V8 code cache must match (bin/start-bundle.js), and the build's
// warm-up runs come through bin/freev2g.js too, so the caches it leaves are made with them.
import { setFlagsFromString } from 'node:v8';

/**
 * Both are about V8's memory reducer, which collects garbage in a process that has gone idle. An
 * idle Ethernet host's first minute after start-up held three of its full GCs, 0.6 s apart, each
 * with incremental marking steps on the main thread (tasks: wake-ups) and concurrent marking on all
 * four V8 worker threads: ~90 ms of CPU, four times what the minute's liveness Pings cost (~22 ms),
 * for 4 MB of start-up garbage (docs/performance.md, issue 12 target 2, ninth round).
 *
 * - `--no-memory-reducer-for-small-heaps`: the reducer is not started by the old generation
 *   growing before the first ordinary mark-compact, i.e. by start-up. The start-up garbage stays
 *   until the first charge's GCs (13.4 MB of heap, 18.7 MB committed; 7.2 MB more RSS at rest than
 *   with three reducer GCs: 69.9 against 62.6 MB), and the idle host's first minute costs what
 *   every later minute costs (0.04 % of a core, was 0.14-0.15 %). After the first mark-compact the
 *   reducer works as before.
 * - `--memory-reducer-single-gc`: when it runs (an idle host after a session), one GC instead of
 *   up to three. The first does nearly all the work (12.8-13.1 -> 9.1-9.2 MB in the traces); the
 *   second and third freed 0.0-0.3 MB of objects and gave back 1.0-1.5 MB of committed heap.
 *
 * `--no-memory-reducer` would need the command line (set at run time it changes nothing: V8 made
 * the reducer at start-up) and would never give memory back.
 */
/*
 * Both flags exist in Node 20's V8 (11.3) and in current V8's flag-definitions.h. V8 does not
 * throw on a flag it no longer knows: it prints "Error: unrecognized flag" on stderr, which the
 * CLI tests that compare output (test/cli/start-bundle.test.ts) would show on a newer Node.
 */
export const V8_FLAGS = ['--no-memory-reducer-for-small-heaps', '--memory-reducer-single-gc'];

export function applyV8Flags() {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
}
