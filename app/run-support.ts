/**
 * The pieces of a run that stand on their own (app/run.ts puts them together): the session
 * journal, signal handling, the traffic tap to capture and dashboard, and driving a virtual clock.
 */
import type { TrafficRecord } from '../machines/hci-client.js';
import type { StationEmitted } from '../machines/station-events.js';
import type { VirtualClock } from '../util/clock.js';
import { type PcapWriter, parseMac } from './capture.js';
import type { Dashboard } from './dashboard.js';
import { EXIT } from './exit.js';
import { SessionJournal, interruptedRecord, journalPathFor, orphanJournals } from './journal.js';
import type { Reporter } from './output/reporter.js';
import { guardedWriter } from './output-files.js';
import { appendRecord } from './records.js';

/**
 * The journal of sessions in progress beside the records: what a killed predecessor left is
 * recorded first, as interrupted sessions (issue 12 item 9).
 */
export function startJournal(records: string, warn: (line: string) => void): SessionJournal {
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

export function journalEvent(journal: SessionJournal, key: string, ev: StationEmitted, at: number, moduleMac: string | undefined): void {
  if (ev.type === 'phase' && ev.phase === 'sessionStarted') journal.begin(key, { station: ev.station, startedAt: at, ...(moduleMac ? { moduleMac } : {}) });
  else if (ev.type === 'sample') journal.progress(key, at, ev.energyWh, ev.socPercent);
}

/**
 * SIGINT/SIGTERM: the first stops charging and the services cleanly (`onFirst`), the second
 * exits at once with 130. Returns the function that removes the handlers.
 */
export function trapSignals(reporter: Reporter, onFirst: () => void): () => void {
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
    // The run is over and the process on its way out: a stop asked for now (a service manager
    // that saw the session end) is already done, and the signal's default action would turn the
    // clean exit into "killed by SIGTERM" (seen in test/cli/replay-wire.test.ts at load 7).
    // A second one still exits at once. Signal listeners do not keep the process alive.
    for (const sig of ['SIGINT', 'SIGTERM'] as const) if (!process.listeners(sig).includes(onLateSignal)) process.on(sig, onLateSignal);
  };
}

let lateSignals = 0;
function onLateSignal(sig: NodeJS.Signals): void {
  if (++lateSignals < 2) return;
  process.stderr.write(`freev2g: second ${sig}, exiting now\n`);
  process.exit(EXIT.interrupted);
}

/** Resolves on the next SIGINT/SIGTERM (the dashboard kept after a run waits for it). */
export function nextSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (sig: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Every HCI frame of a station to the capture (as Ethernet frames) and the dashboard (decoded). */
export function trafficTap(
  st: { hostMac: string; moduleMac: string; settings: { role: string } },
  capture: PcapWriter | undefined,
  dashboard: Dashboard | undefined,
  guard: (write: () => void) => boolean,
): (t: TrafficRecord) => void {
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
export async function driveVirtual(clock: VirtualClock, done: Promise<unknown>): Promise<void> {
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
