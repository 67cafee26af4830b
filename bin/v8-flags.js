// V8 flags of every freev2g process, set by bin/freev2g.js before anything else is compiled: the
// flags are part of what a V8 code cache must match (bin/start-bundle.js), and the build's
// warm-up runs come through bin/freev2g.js too, so the caches it leaves are made with them.
import { setFlagsFromString } from 'node:v8';

/**
 * `--memory-reducer-single-gc`: once a process goes idle after start-up, V8's memory reducer
 * runs up to three full garbage collections 0.6 s apart, each with incremental marking steps on
 * the main thread (tasks: wake-ups) and concurrent marking on all four V8 worker threads. In an
 * idle Ethernet host that was ~90 ms of CPU in the first minute after start, four times what the
 * minute's liveness Pings cost (~22 ms), and the first of the three does nearly all the work:
 * 12.8-13.1 -> 9.1-9.2 MB of objects; the second and third freed 0.0-0.3 MB more and gave back
 * 1.0-1.5 MB of committed heap (10.5-10.7 MB left, 11.7 MB with one GC). One is enough
 * (docs/performance.md, issue 12 target 2, ninth round). `--no-memory-reducer` would save the first one too, but keeps
 * the start-up garbage (4 MB, 7 MB committed) for good, and can only be given on the command line.
 */
export const V8_FLAGS = ['--memory-reducer-single-gc'];

export function applyV8Flags() {
  for (const flag of V8_FLAGS) setFlagsFromString(flag);
}
