/**
 * Runs one or more stations to the end of their sessions: HCI clients on the given transports,
 * the station machines, and around them the presentation and bookkeeping: reporter (log/JSON/
 * status line), authorization prompt, capture file, session records, dashboard, signals.
 * `sim`, `eth` and `spi` differ only in the transports and clock they hand in.
 */
import { type HciClientHandle, type TrafficRecord, createHciClient } from '../machines/hci-client.js';
import type { HciClient } from '../machines/hci-types.js';
import type { SessionRecord, StationEmitted } from '../machines/station-events.js';
import type { Transport } from '../transports/transport.js';
import { type Clock, VirtualClock } from '../util/clock.js';
import { type PromptIo, promptAuthorization, ttyLineReader } from './authorize.js';
import { PcapWriter, parseMac } from './capture.js';
import { EXIT } from './exit.js';
import { figuresTracker } from './figures.js';
import type { StationSettings } from './config.js';
import type { Dashboard } from './dashboard.js';
import { type LogFormat, type Reporter, createReporter } from './output/reporter.js';
import { type SummaryEntry, summaryTables } from './output/summary.js';
import type { ControlSettings } from './control/index.js';
import type { CertificateProvider } from '../machines/certificate-provider.js';
import { SessionJournal, interruptedRecord, journalPathFor, orphanJournals } from './journal.js';
import { Recent, guardedWriter } from './output-files.js';
import type { PowerStageBinding } from '../machines/power-stage.js';
import type { EvBatteryBinding } from '../machines/ev-battery.js';
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
  /**
   * Names the station in the log ("EVSE 00:01:01:63:77:33", the prefix when several run) and
   * tags its JSON lines and records with `moduleMac`. Without it the role names the station.
   */
  label?: string;
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
  /** Called for each station once it runs (the sim's scenario script drives it). */
  onStation?: (station: RunStation, handle: StationHandle) => void;
  /** Called once the dashboard listens (tests read the URL from the output). */
  onDashboard?: (d: Dashboard) => void;
  /** Work left to do after the stations stopped (close the simulated pair...). */
  cleanup?: () => Promise<void> | void;
  /**
   * Sessions kept in memory for the result and the end-of-run summary (default 100): a run with
   * `sessions: 0` lasts months, and every record is on disk already.
   */
  retainSessions?: number;
  /** Where the log goes (default stdout). */
  out?: NodeJS.WriteStream;
  /**
   * Stations on separate modules (eth): one that stops on its own (an error, a module not
   * answering) is reported and the others go on. Otherwise (the simulated pair) it takes the
   * others down with it: its peer would wait for a partner that is gone.
   */
  independent?: boolean;
  integrations?: RunIntegration[];
  /** The control plane: MQTT, external authorization, the API and /metrics on the dashboard server. */
  control?: ControlSettings;
  /** Address the dashboard listens on (default 127.0.0.1; elsewhere needs control.httpToken). */
  httpHost?: string;
}

/**
 * Something beside the log that follows the stations and may steer them (the control API, the
 * metrics): told of each station as it starts and of everything it emits; may answer its
 * authorization requests; closed when the run ends.
 */
export interface RunIntegration {
  stationStarted(key: string, station: RunStation, handle: StationHandle, client: HciClientHandle): void;
  event(key: string, ev: StationEmitted): void;
  /** The EVSE station's external power stage (`--power-stage mqtt`), or undefined: simulated. */
  powerStageFor?(key: string, station: RunStation): PowerStageBinding | undefined;
  /** The EV station's external battery (`--ev-battery mqtt`), or undefined: simulated. */
  batteryFor?(key: string, station: RunStation): EvBatteryBinding | undefined;
  /** An authorization callback for an EVSE station (external authorization), or undefined. */
  authorizerFor?(key: string, station: RunStation): ((req: { evccId: string; emaid?: string; timeoutMs: number; signal: AbortSignal }) => Promise<boolean>) | undefined;
  /** Wraps an EVSE station's configured certificate provider (Plug & Charge through the backend). */
  certificateProviderFor?(key: string): ((configured: CertificateProvider | undefined) => CertificateProvider | undefined) | undefined;
  close(): Promise<void>;
}

export interface RunResult {
  exitCode: number;
  /** The last `retainSessions` records of the run. */
  records: SessionRecord[];
  /** Sessions recorded in the run, including those no longer retained. */
  sessionCount: number;
  interrupted: boolean;
}

function powerStageOf(integrations: RunIntegration[], key: string, st: RunStation): { powerStage?: PowerStageBinding; battery?: EvBatteryBinding } {
  const powerStage = st.quiet ? undefined : integrations.map((i) => i.powerStageFor?.(key, st)).find((p) => p !== undefined);
  const battery = st.quiet ? undefined : integrations.map((i) => i.batteryFor?.(key, st)).find((b) => b !== undefined);
  return { ...(powerStage ? { powerStage } : {}), ...(battery ? { battery } : {}) };
}

function promptIo(reporter: Reporter): PromptIo {
  return {
    show: (text) => reporter.setPrompt(text),
    readLine: ttyLineReader(process.stdin),
    log: (text) => reporter.info(text),
  };
}

/** The name a station is kept under in this run: its label, or its role (one per role). */
const keyOf = (st: RunStation): string => st.label ?? st.settings.role;

export async function runStations(options: RunOptions): Promise<RunResult> {
  const out = options.out ?? process.stdout;
  const { clock } = options;
  const integrations = [...(options.integrations ?? [])];
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
  // The control plane and the dashboard first: a port in use fails before any file is created.
  // The control plane's modules load only when asked for (start-up of a plain run).
  const plane = options.control ? await (await import('./control/index.js')).createControlPlane(options.control, clock, (t) => reporter.info(t)) : undefined;
  if (plane) integrations.push(plane);
  const dashboard =
    options.inspect !== undefined
      ? await (await import('./dashboard.js')).startDashboard(options.inspect, { ...(options.httpHost ? { host: options.httpHost } : {}), ...(plane ? { routes: plane.routes } : {}) })
      : undefined;
  const capture = options.capture ? new PcapWriter(options.capture) : undefined;
  if (dashboard) {
    reporter.info(`Dashboard: ${dashboard.url}`);
    options.onDashboard?.(dashboard);
  }
  const retain = options.retainSessions ?? 100;
  const records = new Recent<SessionRecord>(retain);
  const summaries = new Recent<SummaryEntry>(retain);
  let sessionFailed = false;
  const warn = (line: string): void => reporter.info(line);
  const guardRecords = guardedWriter('session records', options.records ?? '', warn);
  const guardCapture = guardedWriter('capture', options.capture ?? '', warn);
  const journal = options.records ? startJournal(options.records, warn) : undefined;
  const handles: StationHandle[] = [];
  const clients: Array<ReturnType<typeof createHciClient>> = [];
  let stopping = false;
  let interrupted = false;
  /** Stations that stopped on their own (independent mode: the run goes on without them). */
  const lost = new Set<string>();

  const shutdownAll = (): void => {
    if (stopping) return;
    stopping = true;
    for (const h of handles) h.shutdown();
  };

  const untrap = trapSignals(reporter, () => {
    interrupted = true;
    shutdownAll();
  });

  const ended = new Map<string, number>();
  const countEnd = (key: string): void => {
    ended.set(key, (ended.get(key) ?? 0) + 1);
    // A station lost on the way has done all it will: the others decide when the run ends.
    const all = options.stations.every((s) => lost.has(keyOf(s)) || (ended.get(keyOf(s)) ?? 0) >= options.sessions);
    if (options.sessions > 0 && all) shutdownAll();
  };
  const lastPhase = new Map<string, string>();
  const figures = figuresTracker((key) => lastPhase.get(key));
  const onEvent = (st: RunStation) => {
    const key = keyOf(st);
    const tag = st.label !== undefined ? { label: st.label, moduleMac: st.moduleMac } : undefined;
    return (emitted: StationEmitted): void => {
      // Records name the module they were made on (several stations of one role may run).
      const ev = emitted.type === 'sessionEnded' && tag ? { ...emitted, record: { ...emitted.record, moduleMac: tag.moduleMac } } : emitted;
      // A phase event means a change: repeats of the current phase are dropped.
      if (ev.type === 'phase') {
        if (lastPhase.get(key) === ev.phase) return;
        lastPhase.set(key, ev.phase);
      }
      const at = clock.now();
      if (journal) journalEvent(journal, key, ev, at, tag?.moduleMac);
      figures.event(key, ev);
      for (const i of integrations) i.event(key, ev);
      reporter.station(ev, at, tag);
      if (dashboard && ev.type !== 'authorization' && ev.type !== 'sessionEnded') dashboard.publish(ev.type === 'sample' ? { ...ev, at } : ev);
      if (ev.type === 'sessionEnded') {
        const { record } = ev;
        records.push(record);
        if (record.error !== undefined) sessionFailed = true;
        summaries.push({ record, figures: figures.take(key), ...(tag ? { label: tag.label } : {}) });
        const file = options.records;
        if (file) guardRecords(() => appendRecord(file, record));
        // Only once the record is on disk: a kill in between leaves the journal entry.
        journal?.end(key);
        dashboard?.publish({ type: 'session', station: ev.station, record });
        // A paused session goes on once the car resumes it: it is not the end of a charging session.
        if (record.closure !== 'pause') countEnd(key);
      }
    };
  };
  const onQuietEvent =
    (st: RunStation) =>
    (ev: StationEmitted): void => {
      if (ev.type === 'sessionEnded' && ev.record.closure !== 'pause') countEnd(keyOf(st));
    };
  const stopFailed = (st: RunStation, handle: StationHandle): void => {
    if (lost.has(keyOf(st))) return;
    lost.add(keyOf(st));
    reporter.info(`${keyOf(st)}: the station failed: stopping it${options.stations.length > 1 ? '; the other stations go on' : ''}`);
    handle.shutdown();
  };
  /** A station stopped without being asked to (an error, its module gone). */
  const onStationDone = (st: RunStation): void => {
    if (stopping) return;
    if (!options.independent) return shutdownAll();
    lost.add(keyOf(st));
    reporter.info(`${keyOf(st)}: the station stopped`);
    if (options.stations.every((s) => lost.has(keyOf(s)))) return;
    // Its end may complete the run (the others already did their sessions).
    if (options.sessions > 0 && options.stations.every((s) => lost.has(keyOf(s)) || (ended.get(keyOf(s)) ?? 0) >= options.sessions)) shutdownAll();
  };

  try {
    for (const st of options.stations) {
      const client = createHciClient({ transport: st.transport, clock });
      clients.push(client);
      client.notices$.subscribe((n) => reporter.info(`${keyOf(st)}: ${n.level === 'error' ? 'Error' : 'Warning'}: ${n.text}`));
      const role = st.settings.role;
      if (!st.quiet) {
        client.traffic$.subscribe(trafficTap(st, capture, dashboard, guardCapture));
        client.traffic$.subscribe((t) => figures.traffic(keyOf(st), t));
      }
      if (options.beforeStart) {
        await options.beforeStart(client, st).catch((e: unknown) => reporter.info(`Warning: ${e instanceof Error ? e.message : String(e)}`));
      }
      const ask = !st.quiet && options.ask && role === 'EVSE' && process.stdin.isTTY === true && human;
      const external = st.quiet || role !== 'EVSE' ? undefined : integrations.map((i) => i.authorizerFor?.(keyOf(st), st)).find((a) => a !== undefined);
      const certificates = st.quiet || role !== 'EVSE' ? undefined : integrations.map((i) => i.certificateProviderFor?.(keyOf(st))).find((c) => c !== undefined);
      const handle = await startStation({
        ...(certificates ? { certificateProvider: certificates } : {}),
        settings: st.settings,
        client,
        clock,
        ...(dashboard && !st.quiet ? { inspect: dashboard.inspectorFor(role).inspect } : {}),
        ...(ask ? { authorize: (req) => promptAuthorization({ ...req, clock, io: promptIo(reporter) }) } : external ? { authorize: external } : {}),
        ...powerStageOf(integrations, keyOf(st), st),
      });
      if (!st.quiet) for (const i of integrations) i.stationStarted(keyOf(st), st, handle, client);
      handle.onEvent(st.quiet ? onQuietEvent(st) : onEvent(st));
      // Independent: a station that failed (its `error` phase: module silent, fatal HCI error)
      // is stopped on its own, best effort, and the others go on.
      if (options.independent) handle.onEvent((ev) => (ev.type === 'phase' && ev.phase === 'error' && !stopping ? stopFailed(st, handle) : undefined));
      void handle.done.then(() => onStationDone(st));
      handles.push(handle);
      options.onStation?.(st, handle);
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
    guardCapture(() => capture?.close());
    for (const i of integrations) await i.close().catch(() => undefined);
    await dashboard?.close();
  }

  if (summaries.dropped > 0) reporter.info(`Summary of the last ${summaries.items.length} of ${summaries.total} sessions (all are in the records)`);
  if (human) for (const l of summaryTables(summaries.items)) reporter.info(l);
  else for (const e of summaries.items) reporter.info('summary', { record: e.record, figures: e.figures });
  reporter.close();
  const failed = sessionFailed || lost.size > 0 || (!interrupted && options.sessions > 0 && records.total === 0);
  return { exitCode: failed && !interrupted ? EXIT.session : EXIT.ok, records: records.items, sessionCount: records.total, interrupted };
}

/**
 * The journal of sessions in progress beside the records: what a killed predecessor left is
 * recorded first, as interrupted sessions (issue 12 item 9).
 */
function startJournal(records: string, warn: (line: string) => void): SessionJournal {
  const path = journalPathFor(records);
  const journal = new SessionJournal(path, guardedWriter('session journal', path, warn));
  const guard = guardedWriter('session records', records, warn);
  for (const entry of journal.recover(orphanJournals(records))) {
    const record = interruptedRecord(entry);
    guard(() => appendRecord(records, record));
    warn(
      `${entry.station}: a session started at ${new Date(entry.startedAt).toISOString()} was interrupted (the host stopped); recorded with ${entry.energyDeliveredWh.toFixed(1)} Wh from its last checkpoint`,
    );
  }
  return journal;
}

function journalEvent(journal: SessionJournal, key: string, ev: StationEmitted, at: number, moduleMac: string | undefined): void {
  if (ev.type === 'phase' && ev.phase === 'sessionStarted') journal.begin(key, { station: ev.station, startedAt: at, ...(moduleMac ? { moduleMac } : {}) });
  else if (ev.type === 'sample') journal.progress(key, at, ev.energyWh, ev.socPercent);
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
function trafficTap(st: RunStation, capture: PcapWriter | undefined, dashboard: Dashboard | undefined, guard: (write: () => void) => boolean): (t: TrafficRecord) => void {
  const host = parseMac(st.hostMac);
  const module = parseMac(st.moduleMac);
  const station = st.settings.role;
  return (t: TrafficRecord) => {
    if (capture) guard(() => (t.dir === 'tx' ? capture.writeHci(t.at, host, module, t.bytes) : capture.writeHci(t.at, module, host, t.bytes)));
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
