/**
 * `freev2g sim --replay <capture>`: our host station (EVSE or EV) against the module's side of a
 * captured session, on a virtual clock, and a report of where our host answers differently from
 * the captured host. Exit code 0 when it follows the capture to its end with no divergence, 1 when
 * it diverged (the first divergence is named), as docs/replay.md explains.
 */
import type { Role } from '../../codec/message.js';
import { createHciClient } from '../../machines/hci-client.js';
import type { SessionPhase } from '../../machines/station-events.js';
import { VirtualClock } from '../../util/clock.js';
import type { StationSettings } from '../config.js';
import { startStation } from '../stations.js';
import { type CapturedSession, loadCapturedSession } from './captured.js';
import { type Divergence, Replayer, type ReplayerOptions } from './replayer.js';

export interface ReplayOptions extends ReplayerOptions {
  capture: string;
  /** The host's role; default: from the capture's messages. */
  role?: Role;
  /** Station settings for a role (the same configuration as the captured host, ideally). */
  settingsFor: (role: Role) => StationSettings;
  /** Only this module's traffic, when the capture holds several. */
  moduleMac?: string;
  /** Every host request, not only the divergences. */
  verbose?: boolean;
  /** At most this many divergences listed (default 20). */
  maxListed?: number;
}

export interface ReplayResult {
  exitCode: 0 | 1;
  role: Role;
  divergences: Divergence[];
  /** The report, line by line. */
  lines: string[];
  /** Furthest captured frame the replay got to, and how many there are. */
  reachedFrameNo: number;
  totalFrames: number;
  phases: SessionPhase[];
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(3)} s`;
const json = (v: unknown): string => JSON.stringify(v);

/** One line per divergence, naming the captured frame it is about. */
export function describeDivergence(d: Divergence): string {
  switch (d.kind) {
    case 'fields': {
      const fields = d.differences.map((x) => `${x.path}: captured ${json(x.captured)}, host ${json(x.host)}`).join('; ');
      return `frame ${d.captured.frameNo} (${secs(d.captured.atMs)}) ${d.captured.name}: host sent other values: ${fields}`;
    }
    case 'unexpected':
      return `at ${secs(d.atMs)} the host sent ${d.name}, which the captured host never sent${d.fields ? ` (${json(d.fields)})` : ''}`;
    case 'missing':
      return `frame ${d.captured.frameNo} (${secs(d.captured.atMs)}) ${d.captured.name}: the host never sent it`;
  }
}

function header(session: CapturedSession, role: Role, path: string): string {
  const count = (k: string): number => session.frames.filter((f) => f.kind === k).length;
  const last = session.frames.at(-1);
  return (
    `Replay of ${path}: ${role} host against module ${session.moduleMac}, ${session.frames.length} frames ` +
    `(${count('request')} requests, ${count('response')} responses, ${count('status')} status messages) over ${secs(last?.atMs ?? 0)}`
  );
}

/** Fires timers as fast as they come until `done()`; yields to the event loop now and then. */
async function drive(clock: VirtualClock, done: () => boolean, maxMs: number): Promise<void> {
  const end = clock.now() + maxMs;
  let n = 0;
  while (!done() && clock.now() < end) {
    const moved = await clock.runUntil(() => done() || ++n % 500 === 0, end - clock.now());
    await new Promise<void>((r) => setImmediate(r));
    if (!moved && clock.pending === 0 && !done()) return;
  }
}

export async function runReplay(options: ReplayOptions): Promise<ReplayResult> {
  const session = loadCapturedSession(options.capture, options.moduleMac);
  const role = options.role ?? session.role;
  if (!role) throw new Error(`${options.capture}: cannot tell the host's role from the capture; give -r EVSE or -r EV`);
  const clock = new VirtualClock(Date.now());
  const replayer = new Replayer(session.frames, clock, options);
  const client = createHciClient({ transport: replayer, clock });
  const handle = await startStation({ settings: options.settingsFor(role), client, clock });
  const phases: SessionPhase[] = [];
  let stopped = false;
  void handle.done.then(() => (stopped = true));
  handle.onEvent((ev) => {
    if (ev.type === 'phase' && phases.at(-1) !== ev.phase) phases.push(ev.phase);
    // As the captured run did (one session): stop after it.
    if (ev.type === 'sessionEnded') handle.shutdown();
  });
  void replayer.finished.then(() => handle.shutdown());
  const capturedMs = session.frames.at(-1)?.atMs ?? 0;
  await drive(clock, () => stopped, capturedMs + 10 * 60_000);
  replayer.finish();
  handle.shutdown();
  await client.close().catch(() => undefined);
  await replayer.close();

  const lines = [header(session, role, options.capture)];
  if (options.verbose) {
    for (const l of replayer.hostLines) {
      const at = l.captured ? `frame ${l.captured.frameNo}` : 'no captured frame';
      lines.push(`  ${secs(l.atMs)} host ${l.name} -> ${at}${l.differences.length > 0 ? ' DIFFERS' : ''}`);
    }
  }
  const { divergences } = replayer;
  const max = options.maxListed ?? 20;
  for (const [i, d] of divergences.slice(0, max).entries()) lines.push(`${i === 0 ? 'FIRST DIVERGENCE: ' : 'divergence: '}${describeDivergence(d)}`);
  if (divergences.length > max) lines.push(`... and ${divergences.length - max} more`);
  lines.push(`Reached captured frame ${replayer.reachedFrameNo} of ${session.frames.at(-1)?.frameNo ?? 0}; host phases: ${phases.join(' -> ') || 'none'}`);
  if (replayer.repeats > 0) lines.push(`(${replayer.repeats} periodic request(s) beyond the captured count, answered like the last captured one)`);
  const capturedReads = replayer.capturedReads;
  if (replayer.reads + capturedReads > 0) lines.push(`(state reads: host ${replayer.reads}, capture ${capturedReads}; each answered with the latest captured answer, none holds a status back)`);
  const exitCode = divergences.length === 0 ? 0 : 1;
  lines.push(exitCode === 0 ? 'Result: the host follows the capture (exit 0)' : `Result: diverged; first: ${describeDivergence(divergences[0] as Divergence)} (exit 1)`);
  return {
    exitCode,
    role,
    divergences,
    lines,
    reachedFrameNo: replayer.reachedFrameNo,
    totalFrames: session.frames.length,
    phases,
  };
}
