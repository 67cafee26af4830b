/**
 * What the CLI prints while stations run. The stations emit presentation events (log lines,
 * phases, samples, authorization, session end; machines/station-events.ts); a Reporter turns
 * them into the human log (the reference application's message sequence), JSON lines, and on a
 * TTY a live status line kept below the log.
 */
import { fstatSync, statSync } from 'node:fs';
import type { StationEmitted, StationRole, SessionPhase, SampleEvent } from '../../machines/station-events.js';
import { createCondenser } from './condense.js';
import { toJsonLine } from './json.js';

export type LogFormat = 'human' | 'json';

/** Which station an event is from when several of one role run (eth, one per module MAC). */
export interface StationTag {
  /** Log prefix, e.g. "EVSE 00:01:01:63:77:33". */
  label: string;
  /** Added to the event's JSON line. */
  moduleMac: string;
}

export interface Reporter {
  /** An event a station emitted (`tag`: its name when stations are told apart by MAC). */
  station(ev: StationEmitted, atMs: number, tag?: StationTag): void;
  /** A line of the application itself (not of a station): welcome, summary, errors. */
  info(text: string, data?: Record<string, unknown>): void;
  /** Temporarily owns the status line (the authorization prompt); undefined gives it back. */
  setPrompt(text: string | undefined): void;
  close(): void;
}

export interface Writable {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ReporterOptions {
  format: LogFormat;
  out: Writable;
  /** Prefix station lines with the role (when more than one station runs). */
  prefixRoles: boolean;
  /** Draw the live status line (only sensible on a TTY, human format). */
  statusLine: boolean;
  /** For the progress bar: the EV's target state of charge. */
  targetSocPercent?: number;
  /** Clock time when the run started (for the elapsed time). */
  startedAt: number;
  /** The run's clock (app lines carry its time, like station events). */
  now?: () => number;
  /** Human format: every charge-loop message (default: condensed, see condense.ts). */
  verbose?: boolean;
}

const pad = (role: StationRole): string => (role === 'EV' ? 'EV  ' : 'EVSE');

/** The JSON line of a station event: `at` in ISO time, then the event's own fields. */
export function eventJson(ev: StationEmitted, atMs: number): Record<string, unknown> {
  // Samples carry their own clock time; every line's `at` is ISO time.
  return { ...ev, at: new Date(ev.type === 'sample' ? ev.at : atMs).toISOString() };
}

interface LiveState {
  phases: Partial<Record<StationRole, SessionPhase>>;
  sample?: SampleEvent;
  socStart?: number;
  now: number;
}

const ENERGY_PHASES: ReadonlySet<SessionPhase> = new Set<SessionPhase>(['cableCheck', 'preCharge', 'charging', 'stoppingCharging']);

function formatElapsed(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** The status line: phase per station, V, A, kW, SOC, kWh, elapsed, progress to the target SOC. */
export function statusText(state: LiveState, startedAt: number, targetSoc: number | undefined): string {
  const phases = (Object.entries(state.phases) as Array<[StationRole, SessionPhase]>).map(([r, p]) => `${r} ${p}`).join(', ');
  const parts = [phases || 'starting'];
  const s = state.sample;
  // Voltage, current and power only while the charger may be live; SOC and energy stay.
  const live = Object.values(state.phases).some((p) => ENERGY_PHASES.has(p));
  if (s) {
    if (live) parts.push(`${s.voltageV.toFixed(1)} V ${s.currentA.toFixed(1)} A ${(s.powerW / 1000).toFixed(2)} kW`);
    if (s.socPercent !== undefined) parts.push(`SOC ${s.socPercent.toFixed(0)} %`);
    parts.push(`${(s.energyWh / 1000).toFixed(2)} kWh`);
  }
  parts.push(formatElapsed(state.now - startedAt));
  const soc = s?.socPercent;
  if (targetSoc !== undefined && soc !== undefined && state.socStart !== undefined) {
    const span = targetSoc - state.socStart;
    const done = span <= 0 ? 1 : Math.min(1, Math.max(0, (soc - state.socStart) / span));
    const width = 12;
    const full = Math.round(done * width);
    parts.push(`[${'#'.repeat(full)}${'-'.repeat(width - full)}] ${(done * 100).toFixed(0)} %`);
  }
  return parts.join(' | ');
}

/**
 * Whether `out` is this process's stdout redirected to /dev/null (`freev2g sim > /dev/null`,
 * a service whose log nobody keeps): then no line is formatted at all, since formatting costs a
 * few percent of a simulated session's CPU (issue 12 target 4). Anything else is written.
 */
export function writesToDevNull(out: Writable): boolean {
  if (out !== process.stdout) return false;
  try {
    const stdout = fstatSync(1);
    const devNull = statSync('/dev/null');
    return stdout.isCharacterDevice() && stdout.rdev === devNull.rdev;
  } catch {
    return false;
  }
}

/** Lines waiting for the end of the turn beyond which they are written at once (see `deferred`). */
const MAX_PENDING_LINES = 256;

const SILENT: Reporter = { station: () => undefined, info: () => undefined, setPrompt: () => undefined, close: () => undefined };

export function createReporter(options: ReporterOptions): Reporter {
  if (writesToDevNull(options.out)) return SILENT;
  return deferred(writingReporter(options), () => options.now?.() ?? Date.now());
}

/**
 * Lines are formatted and written after the current event-loop turn (setImmediate), not while a
 * received frame is being handled: on the wire, formatting and writing the JSON line of a status
 * before its answer left was about a quarter of the status -> answer path (issue 12 target 1).
 * The order of lines is kept; `close()` and the process's exit write what is pending, so no line
 * is lost when the run ends or the process exits on an error.
 */
function deferred(inner: WritingReporter, now: () => number): Reporter {
  let pending: (() => void)[] = [];
  let scheduled: ReturnType<typeof setImmediate> | undefined;
  const flush = (): void => {
    if (scheduled !== undefined) clearImmediate(scheduled);
    scheduled = undefined;
    const due = pending;
    pending = [];
    for (const write of due) write();
  };
  const later = (write: () => void): void => {
    // A run on the virtual clock (`sim --speed max`) never leaves the microtask queue: without a
    // bound, a whole session's lines (a closure and an event each) waited here and went through
    // every young-generation collection to the old one. A turn on the wire has a few lines.
    if (pending.push(write) >= MAX_PENDING_LINES) flush();
    else scheduled ??= setImmediate(flush);
  };
  process.on('exit', flush);
  return {
    station: (ev, atMs, tag) => later(() => inner.station(ev, atMs, tag)),
    info: (text, data) => {
      // The time of the call, not of the write.
      const at = now();
      later(() => inner.info(text, data, at));
    },
    setPrompt: (text) => later(() => inner.setPrompt(text)),
    close: () => {
      flush();
      process.off('exit', flush);
      inner.close();
    },
  };
}

/** A reporter that writes at once; `info` may be given the time it was called at. */
interface WritingReporter extends Omit<Reporter, 'info'> {
  info(text: string, data: Record<string, unknown> | undefined, at: number): void;
}

function writingReporter(options: ReporterOptions): WritingReporter {
  const { out } = options;
  const live: LiveState = { phases: {}, now: options.startedAt };
  let prompt: string | undefined;
  let drawn = false;

  const clearStatus = (): void => {
    if (drawn) out.write('\r\x1b[2K');
    drawn = false;
  };
  // Samples come 10 times per simulated second (600/s at --speed 60): redraw at most every
  // 50 ms of wall time; log lines and the prompt redraw at once.
  let lastDraw = 0;
  const drawThrottled = (): void => {
    const now = Date.now();
    if (now - lastDraw < 50) return;
    drawStatus();
  };
  const drawStatus = (): void => {
    if (!options.statusLine) return;
    lastDraw = Date.now();
    let text = prompt ?? statusText(live, options.startedAt, options.targetSocPercent);
    const cols = out.columns ?? 120;
    if (text.length > cols - 1) text = text.slice(0, cols - 1);
    out.write(`\r\x1b[2K${text}`);
    drawn = true;
  };
  const line = (text: string): void => {
    clearStatus();
    out.write(`${text}\n`);
    drawStatus();
  };
  const stationLine = (name: string, text: string): void => line(options.prefixRoles ? `${name} | ${text}` : text);
  // One condenser per station: two EVSEs in one run each get their own charge-loop summary.
  const condensers = new Map<string, ReturnType<typeof createCondenser>>();
  const condenserOf = (name: string): ReturnType<typeof createCondenser> | undefined => {
    if (options.verbose) return undefined;
    let c = condensers.get(name);
    if (!c) condensers.set(name, (c = createCondenser()));
    return c;
  };

  return {
    station(ev, atMs, tag) {
      live.now = atMs;
      if (options.format === 'json') {
        out.write(`${toJsonLine({ ...eventJson(ev, atMs), ...(tag ? { moduleMac: tag.moduleMac } : {}) })}\n`);
        return;
      }
      const name = tag?.label ?? pad(ev.station);
      const condenser = condenserOf(name);
      if (condenser) for (const text of condenser.lines(ev)) stationLine(name, text);
      switch (ev.type) {
        case 'log':
          if (!condenser) stationLine(name, ev.text);
          return;
        case 'phase':
          live.phases[ev.station] = ev.phase;
          drawStatus();
          return;
        case 'sample':
          if (ev.socPercent !== undefined && live.socStart === undefined) live.socStart = ev.socPercent;
          // The EV knows the SOC, the EVSE the delivered energy: keep the most informative.
          live.sample = { ...ev, socPercent: ev.socPercent ?? live.sample?.socPercent };
          drawThrottled();
          return;
        default:
          return;
      }
    },
    info(text, data, at) {
      if (options.format === 'json') out.write(`${toJsonLine({ at: new Date(at).toISOString(), type: 'app', text, ...(data ? { data } : {}) })}\n`);
      else line(text);
    },
    setPrompt(text) {
      prompt = text;
      if (text === undefined) clearStatus();
      drawStatus();
    },
    close() {
      clearStatus();
    },
  };
}
