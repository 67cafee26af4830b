/**
 * Runs one or more stations to the end of their sessions: HCI clients on the given transports,
 * the station machines, and around them the presentation and bookkeeping: reporter (log/JSON/
 * status line), authorization prompt, capture file, session records, dashboard, signals.
 * `sim`, `eth` and `spi` differ only in the transports and clock they hand in.
 */
import { type TrafficRecord, createHciClient } from '../machines/hci-client.js';
import type { HciClient } from '../machines/hci-types.js';
import type { SessionRecord, StationEmitted, StationRole } from '../machines/station-events.js';
import type { Transport } from '../transports/transport.js';
import { type Clock, VirtualClock } from '../util/clock.js';
import { type PromptIo, promptAuthorization, ttyLineReader } from './authorize.js';
import { PcapWriter, parseMac } from './capture.js';
import { EXIT } from './cli.js';
import type { StationSettings } from './config.js';
import { type Dashboard, startDashboard } from './dashboard.js';
import { type LogFormat, type Reporter, createReporter } from './output/reporter.js';
import { type SessionFigures, type SummaryEntry, summaryTables } from './output/summary.js';
import { appendRecord } from './records.js';
import { type StationHandle, startStation } from './stations.js';

export interface RunStation {
  settings: StationSettings;
  transport: Transport;
  /** MAC addresses for the capture: the host's and the module's. */
  hostMac: string;
  moduleMac: string;
  /** Runs as the counterpart only: not printed, captured, recorded or shown on the dashboard. */
  quiet?: boolean;
}

export interface RunOptions {
  stations: RunStation[];
  clock: Clock;
  logFormat: LogFormat;
  /** Ask the operator on the TTY for authorization (EVSE). */
  ask: boolean;
  capture?: string;
  records?: string;
  /** Dashboard port (0 = any free port) or undefined for none. */
  inspect?: number;
  /** Stop after this many sessions per station (0 = run until a signal). */
  sessions: number;
  /** Human log: every charge-loop message (default condensed). */
  verbose?: boolean;
  /** For the status line's progress bar. */
  targetSocPercent?: number;
  /** Runs on each station's client before its station starts (eth: port mirror). */
  beforeStart?: (client: HciClient, station: RunStation) => Promise<void>;
  /** Called once the dashboard listens (tests read the URL from the output). */
  onDashboard?: (d: Dashboard) => void;
  /** Work left to do after the stations stopped (close the simulated pair...). */
  cleanup?: () => Promise<void> | void;
  /** Where the log goes (default stdout). */
  out?: NodeJS.WriteStream;
}

export interface RunResult {
  exitCode: number;
  records: SessionRecord[];
  interrupted: boolean;
}

function promptIo(reporter: Reporter): PromptIo {
  return {
    show: (text) => reporter.setPrompt(text),
    readLine: ttyLineReader(process.stdin),
    log: (text) => reporter.info(text),
  };
}

const CHARGE_LOOP_STATUS = /(Dc|Ac)ChargeParametersChanged$/;
const PARAMETER_UPDATE = /Update(Dc|Ac)ChargingParameters$/;

/**
 * Charge-loop figures of the session in progress, per station: status messages handled and
 * updates sent while the station is charging (from its HCI traffic), and the peak power sampled.
 */
function figuresTracker(phaseOf: (role: StationRole) => string | undefined) {
  const current = new Map<StationRole, SessionFigures>();
  const of = (role: StationRole): SessionFigures => {
    let f = current.get(role);
    if (!f) current.set(role, (f = { chargeLoopMessages: 0, parameterUpdates: 0, peakPowerW: 0 }));
    return f;
  };
  return {
    traffic(role: StationRole, t: TrafficRecord): void {
      const m = t.message;
      if (!m || phaseOf(role) !== 'charging') return;
      if (t.dir === 'rx' && m.direction === 'status' && CHARGE_LOOP_STATUS.test(m.message)) of(role).chargeLoopMessages++;
      else if (t.dir === 'tx' && m.direction === 'request' && PARAMETER_UPDATE.test(m.message)) of(role).parameterUpdates++;
    },
    event(ev: StationEmitted): void {
      if (ev.type === 'sample') of(ev.station).peakPowerW = Math.max(of(ev.station).peakPowerW, ev.powerW);
    },
    /** The figures of the session that just ended (and a fresh count for the next). */
    take(role: StationRole): SessionFigures {
      const f = of(role);
      current.delete(role);
      return f;
    },
  };
}

export async function runStations(options: RunOptions): Promise<RunResult> {
  const out = options.out ?? process.stdout;
  const { clock } = options;
  const human = options.logFormat === 'human';
  const reporter = createReporter({
    format: options.logFormat,
    out,
    prefixRoles: options.stations.filter((s) => !s.quiet).length > 1,
    statusLine: human && out.isTTY === true,
    ...(options.targetSocPercent !== undefined ? { targetSocPercent: options.targetSocPercent } : {}),
    startedAt: clock.now(),
    now: () => clock.now(),
    verbose: options.verbose === true,
  });
  // The dashboard first: a port in use fails before any file is created.
  const dashboard = options.inspect !== undefined ? await startDashboard(options.inspect) : undefined;
  const capture = options.capture ? new PcapWriter(options.capture) : undefined;
  if (dashboard) {
    reporter.info(`Dashboard: ${dashboard.url}`);
    options.onDashboard?.(dashboard);
  }
  const records: SessionRecord[] = [];
  const summaries: SummaryEntry[] = [];
  const handles: StationHandle[] = [];
  const clients: Array<ReturnType<typeof createHciClient>> = [];
  let stopping = false;
  let interrupted = false;

  const shutdownAll = (): void => {
    if (stopping) return;
    stopping = true;
    for (const h of handles) h.shutdown();
  };

  const untrap = trapSignals(reporter, () => {
    interrupted = true;
    shutdownAll();
  });

  const ended = new Map<StationRole, number>();
  const countEnd = (role: StationRole): void => {
    ended.set(role, (ended.get(role) ?? 0) + 1);
    const all = options.stations.every((s) => (ended.get(s.settings.role) ?? 0) >= options.sessions);
    if (options.sessions > 0 && all) shutdownAll();
  };
  const lastPhase = new Map<StationRole, string>();
  const figures = figuresTracker((role) => lastPhase.get(role));
  const onEvent = (ev: StationEmitted): void => {
    // A phase event means a change: repeats of the current phase are dropped.
    if (ev.type === 'phase') {
      if (lastPhase.get(ev.station) === ev.phase) return;
      lastPhase.set(ev.station, ev.phase);
    }
    const at = clock.now();
    figures.event(ev);
    reporter.station(ev, at);
    if (dashboard && ev.type !== 'authorization' && ev.type !== 'sessionEnded') dashboard.publish(ev.type === 'sample' ? { ...ev, at } : ev);
    if (ev.type === 'sessionEnded') {
      records.push(ev.record);
      summaries.push({ record: ev.record, figures: figures.take(ev.station) });
      if (options.records) appendRecord(options.records, ev.record);
      dashboard?.publish({ type: 'session', station: ev.station, record: ev.record });
      countEnd(ev.station);
    }
  };
  const onQuietEvent = (ev: StationEmitted): void => {
    if (ev.type === 'sessionEnded') countEnd(ev.station);
  };

  try {
    for (const st of options.stations) {
      const client = createHciClient({ transport: st.transport, clock });
      clients.push(client);
      const role = st.settings.role;
      if (!st.quiet) {
        client.traffic$.subscribe(trafficTap(st, capture, dashboard));
        client.traffic$.subscribe((t) => figures.traffic(role, t));
      }
      if (options.beforeStart) {
        await options.beforeStart(client, st).catch((e: unknown) => reporter.info(`Warning: ${e instanceof Error ? e.message : String(e)}`));
      }
      const ask = !st.quiet && options.ask && role === 'EVSE' && process.stdin.isTTY === true && human;
      const handle = await startStation({
        settings: st.settings,
        client,
        clock,
        ...(dashboard && !st.quiet ? { inspect: dashboard.inspectorFor(role).inspect } : {}),
        ...(ask ? { authorize: (req) => promptAuthorization({ ...req, clock, io: promptIo(reporter) }) } : {}),
      });
      handle.onEvent(st.quiet ? onQuietEvent : onEvent);
      // A station that stops on its own (an error) takes the others down with it: its peer
      // would otherwise wait for a partner that is gone.
      void handle.done.then(shutdownAll);
      handles.push(handle);
    }
    if (stopping) for (const h of handles) h.shutdown();

    const allDone = Promise.all(handles.map((h) => h.done));
    if (clock instanceof VirtualClock) await driveVirtual(clock, allDone);
    else await allDone;
  } finally {
    untrap();
    for (const c of clients) await c.close().catch(() => undefined);
    for (const s of options.stations) await s.transport.close().catch(() => undefined);
    await options.cleanup?.();
    capture?.close();
    await dashboard?.close();
  }

  if (human) for (const l of summaryTables(summaries)) reporter.info(l);
  else for (const e of summaries) reporter.info('summary', { record: e.record, figures: e.figures });
  reporter.close();
  const failed = records.some((r) => r.error !== undefined) || (!interrupted && options.sessions > 0 && records.length === 0);
  return { exitCode: failed && !interrupted ? EXIT.session : EXIT.ok, records, interrupted };
}

/**
 * SIGINT/SIGTERM: the first stops charging and the services cleanly (`onFirst`), the second
 * exits at once with 130. Returns the function that removes the handlers.
 */
function trapSignals(reporter: Reporter, onFirst: () => void): () => void {
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      reporter.close();
      process.stderr.write(`freev2g: second ${sig}, exiting now\n`);
      process.exit(EXIT.interrupted);
    }
    reporter.info(`${sig} received: stopping the session and the module services (again to exit at once)`);
    onFirst();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

/** Every HCI frame of a station to the capture (as Ethernet frames) and the dashboard (decoded). */
function trafficTap(st: RunStation, capture: PcapWriter | undefined, dashboard: Dashboard | undefined): (t: TrafficRecord) => void {
  const host = parseMac(st.hostMac);
  const module = parseMac(st.moduleMac);
  const station = st.settings.role;
  return (t: TrafficRecord) => {
    if (capture) {
      if (t.dir === 'tx') capture.writeHci(t.at, host, module, t.bytes);
      else capture.writeHci(t.at, module, host, t.bytes);
    }
    const m = t.message;
    dashboard?.publish({
      type: 'hci',
      station,
      dir: t.dir,
      at: t.at,
      ...(m ? { module: m.module, message: m.message, direction: m.direction, fields: m.fields } : {}),
    });
  };
}

/**
 * `--speed max`: time moves as soon as nothing else is left to do. Timers fire in order and all
 * promise work in between settles (the memory transport and the simulator deliver on
 * microtasks); every few timers the real event loop gets a turn for output and signals.
 */
async function driveVirtual(clock: VirtualClock, done: Promise<unknown>): Promise<void> {
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  let budget = 0;
  while (!finished) {
    const moved = await clock.runUntil(() => finished || ++budget % 200 === 0);
    await new Promise<void>((r) => setImmediate(r));
    if (!moved && !finished && clock.pending === 0) {
      // Nothing scheduled and not finished: wait for real I/O (a signal, a prompt answer).
      await new Promise<void>((r) => setTimeout(r, 5));
    }
  }
}
