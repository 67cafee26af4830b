/**
 * Runs one or more stations to the end of their sessions: HCI clients on the given transports,
 * the station machines, and around them the presentation and bookkeeping: reporter (log/JSON/
 * status line), authorization prompt, capture file, session records, dashboard, signals.
 * `sim`, `eth` and `spi` differ only in the transports and clock they hand in.
 */
import { type HciClientHandle, createHciClient } from '../machines/hci-client.js';
import type { SessionRecord, StationEmitted } from '../machines/station-events.js';
import { type Clock, VirtualClock } from '../util/clock.js';
import { type PromptIo, promptAuthorization, ttyLineReader } from './authorize.js';
import { PcapWriter } from './capture.js';
import { EXIT } from './exit.js';
import { figuresTracker } from './figures.js';
import type { Dashboard } from './dashboard.js';
import { type Reporter, createReporter } from './output/reporter.js';
import { type SummaryEntry, summaryTables } from './output/summary.js';
import type { SessionJournal } from './journal.js';
import { Recent, guardedWriter } from './output-files.js';
import type { PowerStageBinding } from '../machines/power-stage.js';
import type { EvBatteryBinding } from '../machines/ev-battery.js';
import { appendRecord } from './records.js';
import { type RunLifecycle, runLifecycle } from './run-lifecycle.js';
import { driveVirtual, journalEvent, nextSignal, startJournal, trafficTap, trapSignals } from './run-support.js';
import { type StationHandle, startStation } from './stations.js';
import { warmUpWhenWaiting } from './warm-up.js';

export type { RunIntegration, RunOptions, RunResult, RunStation } from './run-types.js';
import type { RunIntegration, RunOptions, RunResult, RunStation } from './run-types.js';

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

/**
 * One run, step by step: the log, the servers (control plane, dashboard), the books (capture,
 * records, journal, figures), the stations, then waiting, closing, the summary and the result.
 */
export async function runStations(options: RunOptions): Promise<RunResult> {
  const reporter = createRunReporter(options);
  const servers = await startServers(options, reporter);
  const book = openSessionBook(options, reporter);
  announceDashboard(servers.dashboard, options, reporter);
  const run: Run = { options, reporter, ...servers, book, life: runLifecycle({ keys: options.stations.map(keyOf), sessions: options.sessions, independent: options.independent === true }, reporter) };
  // The handlers stay until the run is closed and summed up: a SIGTERM while the capture and
  // the records are being closed (a service manager stopping a host that just finished its
  // session) must not kill the process by the signal's default action and lose their tails
  // (seen as exit by signal in test/cli/replay-wire.test.ts under load).
  const untrap = trapSignals(reporter, () => run.life.interrupt());
  try {
    try {
      for (const st of options.stations) await startRunStation(run, st);
      if (run.life.stopping) for (const h of run.life.handles) h.shutdown();
      await waitForStations(options.clock, run.life.handles);
    } finally {
      await closeRun(run);
    }
    printSummary(run);
  } finally {
    untrap();
  }
  await closeDashboard(run);
  reporter.close();
  return runResult(run);
}

/** What the steps of one run share. */
interface Run {
  options: RunOptions;
  reporter: Reporter;
  integrations: RunIntegration[];
  dashboard: Dashboard | undefined;
  book: SessionBook;
  life: RunLifecycle;
}

function createRunReporter(options: RunOptions): Reporter {
  const out = options.out ?? process.stdout;
  const { clock } = options;
  const human = options.logFormat === 'human';
  return createReporter({
    format: options.logFormat,
    out,
    prefixRoles: options.stations.filter((s) => !s.quiet).length > 1,
    statusLine: human && out.isTTY === true,
    ...(options.targetSocPercent !== undefined ? { targetSocPercent: options.targetSocPercent } : {}),
    startedAt: clock.now(),
    now: () => clock.now(),
    verbose: options.verbose === true,
  });
}

/**
 * The control plane and the dashboard first: a port in use fails before any file is created.
 * The control plane's modules load only when asked for (start-up of a plain run).
 */
async function startServers(options: RunOptions, reporter: Reporter): Promise<{ integrations: RunIntegration[]; dashboard: Dashboard | undefined }> {
  const integrations = [...(options.integrations ?? [])];
  const plane = options.control ? await (await import('./control/index.js')).createControlPlane(options.control, options.clock, (t) => reporter.info(t)) : undefined;
  if (plane) integrations.push(plane);
  const dashboard =
    options.inspect !== undefined
      ? await (await import('./dashboard.js')).startDashboard(options.inspect, { ...(options.httpHost ? { host: options.httpHost } : {}), ...(plane ? { routes: plane.routes } : {}) })
      : undefined;
  return { integrations, dashboard };
}

function announceDashboard(dashboard: Dashboard | undefined, options: RunOptions, reporter: Reporter): void {
  if (!dashboard) return;
  reporter.info(`Dashboard: ${dashboard.url}`);
  options.onDashboard?.(dashboard);
}

/** Where the run's sessions are written down: capture, records, journal, summaries, figures. */
interface SessionBook {
  capture: PcapWriter | undefined;
  guardCapture: (write: () => void) => boolean;
  guardRecords: (write: () => void) => boolean;
  journal: SessionJournal | undefined;
  records: Recent<SessionRecord>;
  summaries: Recent<SummaryEntry>;
  figures: ReturnType<typeof figuresTracker>;
  /** The last phase each station reported (a phase event means a change). */
  lastPhase: Map<string, string>;
  clients: HciClientHandle[];
  sessionFailed: boolean;
}

function openSessionBook(options: RunOptions, reporter: Reporter): SessionBook {
  const capture = options.capture ? new PcapWriter(options.capture) : undefined;
  const retain = options.retainSessions ?? 100;
  const warn = (line: string): void => reporter.info(line);
  const lastPhase = new Map<string, string>();
  return {
    capture,
    records: new Recent<SessionRecord>(retain),
    summaries: new Recent<SummaryEntry>(retain),
    guardRecords: guardedWriter('session records', options.records ?? '', warn),
    guardCapture: guardedWriter('capture', options.capture ?? '', warn),
    journal: options.records ? startJournal(options.records, warn) : undefined,
    figures: figuresTracker((key) => lastPhase.get(key)),
    lastPhase,
    clients: [],
    sessionFailed: false,
  };
}

/** A shown station's events: journal, figures, integrations, log, dashboard; a session's end is recorded. */
function stationEvents(run: Run, st: RunStation): (emitted: StationEmitted) => void {
  const { book, dashboard, reporter } = run;
  const { clock } = run.options;
  const key = keyOf(st);
  const tag = st.label !== undefined ? { label: st.label, moduleMac: st.moduleMac } : undefined;
  return (emitted) => {
    // Records name the module they were made on (several stations of one role may run).
    const ev = emitted.type === 'sessionEnded' && tag ? { ...emitted, record: { ...emitted.record, moduleMac: tag.moduleMac } } : emitted;
    // A phase event means a change: repeats of the current phase are dropped.
    if (ev.type === 'phase') {
      if (book.lastPhase.get(key) === ev.phase) return;
      book.lastPhase.set(key, ev.phase);
    }
    const at = clock.now();
    if (book.journal) journalEvent(book.journal, key, ev, at, tag?.moduleMac);
    book.figures.event(key, ev);
    for (const i of run.integrations) i.event(key, ev);
    reporter.station(ev, at, tag);
    if (dashboard && ev.type !== 'authorization' && ev.type !== 'sessionEnded') dashboard.publish(ev.type === 'sample' || ev.type === 'phase' ? { ...ev, at } : ev);
    if (ev.type === 'sessionEnded') recordSession(run, key, ev.record, tag?.label);
  };
}

function recordSession(run: Run, key: string, record: SessionRecord, label: string | undefined): void {
  const { book } = run;
  book.records.push(record);
  if (record.error !== undefined) book.sessionFailed = true;
  book.summaries.push({ record, figures: book.figures.take(key), ...(label !== undefined ? { label } : {}) });
  const file = run.options.records;
  if (file) book.guardRecords(() => appendRecord(file, record));
  // Only once the record is on disk: a kill in between leaves the journal entry.
  book.journal?.end(key);
  run.dashboard?.publish({ type: 'session', station: record.station, record });
  // A paused session goes on once the car resumes it: it is not the end of a charging session.
  if (record.closure !== 'pause') run.life.sessionEnded(key);
}

/** A counterpart station (quiet) only counts its sessions. */
const quietStationEvents =
  (run: Run, st: RunStation) =>
  (ev: StationEmitted): void => {
    if (ev.type === 'sessionEnded' && ev.record.closure !== 'pause') run.life.sessionEnded(keyOf(st));
  };

/** One station: its HCI client, taps, authorization and integrations, then the station itself. */
async function startRunStation(run: Run, st: RunStation): Promise<void> {
  const { options, reporter, book, dashboard, integrations, life } = run;
  const { clock } = options;
  const client = createHciClient({ transport: st.transport, clock });
  book.clients.push(client);
  client.notices$.subscribe((n) => reporter.info(`${keyOf(st)}: ${n.level === 'error' ? 'Error' : 'Warning'}: ${n.text}`));
  const role = st.settings.role;
  if (!st.quiet) {
    // The tap only writes the capture and feeds the dashboard: without both it would be one more
    // subscriber run for every frame, at rest cold (docs/performance.md, target 2, seventh round).
    if (book.capture || dashboard) client.traffic$.subscribe(trafficTap(st, book.capture, dashboard, book.guardCapture));
    client.traffic$.subscribe((t) => book.figures.traffic(keyOf(st), t));
  }
  if (options.beforeStart) {
    await options.beforeStart(client, st).catch((e: unknown) => reporter.info(`Warning: ${e instanceof Error ? e.message : String(e)}`));
  }
  const authorize = authorizerFor(run, st);
  const certificates = certificatesFor(run, st);
  const handle = await startStation({
    ...certificates,
    settings: st.settings,
    client,
    clock,
    ...(dashboard && !st.quiet ? { inspect: dashboard.inspectorFor(role).inspect } : {}),
    ...authorize,
    ...powerStageOf(integrations, keyOf(st), st),
    ...(options.setUpAttempts !== undefined ? { setUpAttempts: options.setUpAttempts } : {}),
  });
  if (!st.quiet) for (const i of integrations) i.stationStarted(keyOf(st), st, handle, client);
  handle.onEvent(st.quiet ? quietStationEvents(run, st) : stationEvents(run, st));
  if (options.warmUp) handle.onEvent(warmUpWhenWaiting(role));
  // A station that failed (its `error` phase: firmware refused, set-up attempts used up) waits
  // for a shutdown: independent, it is stopped on its own and the others go on; coupled (the
  // simulated pair), the run ends, since its peer would wait for it for ever.
  handle.onEvent((ev) => (ev.type === 'phase' && ev.phase === 'error' && !life.stopping ? life.stationFailed(keyOf(st), handle) : undefined));
  void handle.done.then(() => life.stationDone(keyOf(st)));
  life.handles.push(handle);
  options.onStation?.(st, handle);
}

/**
 * EVSE: the operator on the TTY (when asked and possible), else an integration's authorizer, else
 * the configured policy. The integrations are asked in any case (they may note the station).
 */
function authorizerFor(run: Run, st: RunStation): Pick<Parameters<typeof startStation>[0], 'authorize'> {
  const { options, reporter, integrations } = run;
  if (st.quiet || st.settings.role !== 'EVSE') return {};
  const ask = options.ask && process.stdin.isTTY === true && options.logFormat === 'human';
  const external = integrations.map((i) => i.authorizerFor?.(keyOf(st), st)).find((a) => a !== undefined);
  if (ask) return { authorize: (req) => promptAuthorization({ ...req, clock: options.clock, io: promptIo(reporter) }) };
  return external ? { authorize: external } : {};
}

function certificatesFor(run: Run, st: RunStation): Pick<Parameters<typeof startStation>[0], 'certificateProvider'> {
  if (st.quiet || st.settings.role !== 'EVSE') return {};
  const certificates = run.integrations.map((i) => i.certificateProviderFor?.(keyOf(st))).find((c) => c !== undefined);
  return certificates ? { certificateProvider: certificates } : {};
}

async function waitForStations(clock: Clock, handles: StationHandle[]): Promise<void> {
  const allDone = Promise.all(handles.map((h) => h.done));
  if (clock instanceof VirtualClock) await driveVirtual(clock, allDone);
  else await allDone;
}

/** Clients, transports, the caller's clean-up, the capture, the integrations (the dashboard: closeDashboard). */
async function closeRun(run: Run): Promise<void> {
  const { options, book } = run;
  for (const c of book.clients) await c.close().catch(() => undefined);
  for (const s of options.stations) await s.transport.close().catch(() => undefined);
  await options.cleanup?.();
  book.guardCapture(() => book.capture?.close());
  for (const i of run.integrations) await i.close().catch(() => undefined);
}

/**
 * The dashboard last, after the summary: a run that ended on its own keeps it serving until
 * SIGINT/SIGTERM when asked to (the page says so too); either way the log says when it stops.
 */
async function closeDashboard(run: Run): Promise<void> {
  const { dashboard, reporter } = run;
  if (!dashboard) return;
  if (run.options.keepDashboard && !run.life.interrupted) {
    const text = `the run has ended; the dashboard stays at ${dashboard.url} until Ctrl-C`;
    dashboard.setRun({ state: 'ended', text });
    reporter.info(`The run has ended; the dashboard stays at ${dashboard.url} until Ctrl-C (SIGINT/SIGTERM)`);
    await nextSignal();
  }
  await dashboard.close();
  reporter.info(`Dashboard ${dashboard.url} stopped`);
}

function printSummary(run: Run): void {
  const { summaries } = run.book;
  const { reporter } = run;
  if (summaries.dropped > 0) reporter.info(`Summary of the last ${summaries.items.length} of ${summaries.total} sessions (all are in the records)`);
  if (run.options.logFormat === 'human') for (const l of summaryTables(summaries.items)) reporter.info(l);
  else for (const e of summaries.items) reporter.info('summary', { record: e.record, figures: e.figures });
}

function runResult(run: Run): RunResult {
  const { book, life, options } = run;
  const { interrupted } = life;
  const failed = book.sessionFailed || life.lost.size > 0 || (!interrupted && options.sessions > 0 && book.records.total === 0);
  return { exitCode: failed && !interrupted ? EXIT.session : EXIT.ok, records: book.records.items, sessionCount: book.records.total, interrupted };
}
