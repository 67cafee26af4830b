#!/usr/bin/env node
// One warm-up run of a command's start bundle, whose V8 code cache is written at exit
// (scripts/build.mjs step 5; bin/start-bundle.js, `warm`). V8 compiles a function the first time
// it runs; a cache written after a run also holds the functions that run compiled. A cache of
// `--help` held the top level only, and the first answers of a session on the wire paid for
// compiling their code paths: Cable Check Finished up to 6.8 ms against ~0.7 ms at p50
// (docs/performance.md, issue 12 targets 1 and 3). So:
// - `sim`: one whole simulated session at full speed (virtual clock, nothing written to disk);
// - `eth <role>`: one session of an EVSE (default) or EV host on the `lo` interface, whose `pcap`
//   is a wire in this process to a simulated module (the ES module build in dist/, as
//   `module-sim` serves it) with the project's station for the other role at the cable's other
//   end: no capture opens and no frame is sent. The host is stopped by SIGINT a little after its
//   charge loop has begun, so its stop path runs too. The build runs EVSE, then EV over the
//   cache the first left (a function taken from the cache stays in the next one);
// - every other command: `--help` (its top level and the command's registration).
// Usage: node scripts/warm-cache.mjs <command> [EVSE|EV]   (cache directory: FREEV2G_CODE_CACHE_DIR or dist/cli/cache)
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadStartBundle } from '../bin/start-bundle.js';

const distCli = new URL('../dist/cli/', import.meta.url);
const dist = new URL('../dist/', import.meta.url);
/** The module's MAC, the station's default (app/config/load.ts DEFAULT_MAC). */
const MODULE_MAC = '00:01:01:63:77:33';
/** How long the charge loop runs before SIGINT: some tens of its messages at 100-200 ms each. */
const CHARGE_LOOP_MS = 3_000;
/** A warm-up that has not reached the charge loop by then stops anyway (the cache is still written). */
const GIVE_UP_MS = 60_000;
/** How long the host may take to stop after SIGINT (it takes about a second). */
const STOP_MS = 15_000;

const command = process.argv[2];
/** The host's role for `eth`. */
const role = process.argv[3] === 'EV' ? 'EV' : 'EVSE';
const other = role === 'EV' ? 'EVSE' : 'EV';
const work = mkdtempSync(join(tmpdir(), 'freev2g-warm-'));
process.chdir(work);
process.once('exit', () => rmSync(work, { recursive: true, force: true }));

/**
 * A `pcap` whose sessions are joined by one wire: a frame injected into one session arrives at
 * every other session, from the event loop as a real capture delivers it.
 */
function wirePcap() {
  const sessions = new Set();
  return {
    warningHandler: () => undefined,
    createSession() {
      const session = new EventEmitter();
      session.inject = (data) => {
        const buf = Buffer.from(data);
        const header = Buffer.alloc(16);
        header.writeUInt32LE(buf.length, 8);
        header.writeUInt32LE(buf.length, 12);
        setImmediate(() => {
          for (const other of sessions) if (other !== session) other.emit('packet', { buf, header });
        });
      };
      session.close = () => sessions.delete(session);
      sessions.add(session);
      return session;
    },
  };
}

/** The simulated module of `role` on the wire, with the project's station of the other role at the cable's other end. */
async function serveModule(pcap, onChargeLoop) {
  const [{ createEthTransport }, { createSimulatedPair, parseScenario }, { RealClock }, { runStations }, { loadStation }] = await Promise.all([
    import(new URL('transports/eth.js', dist).href),
    import(new URL('sim/index.js', dist).href),
    import(new URL('util/clock.js', dist).href),
    import(new URL('app/run.js', dist).href),
    import(new URL('app/config.js', dist).href),
  ]);
  const clock = new RealClock();
  const eth = await createEthTransport({ iface: 'lo', role: 'module', ownMac: MODULE_MAC, clock, linkWatch: 'poll', importer: async () => pcap });
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ name: 'warm-up' }), ...(role === 'EVSE' ? { evseMac: eth.ownMac } : { evMac: eth.ownMac }) });
  (role === 'EVSE' ? pair.evse : pair.ev).attach(eth);
  pair.cable.events$.subscribe((e) => {
    if (e.type === 'phase' && e.phase === 'chargeLoop') onChargeLoop();
  });
  const quiet = new EventEmitter();
  quiet.write = () => true;
  const station = runStations({
    stations: [
      {
        settings: loadStation(undefined, other),
        transport: role === 'EVSE' ? pair.evHost : pair.evseHost,
        hostMac: '02:00:00:00:00:03',
        moduleMac: role === 'EVSE' ? pair.ev.mac : pair.evse.mac,
      },
    ],
    clock,
    out: quiet,
    logFormat: 'json',
    ask: false,
    sessions: 1,
  });
  return async () => {
    await Promise.race([station, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    await pair.close();
    await eth.close();
  };
}

async function warmEth() {
  const pcap = wirePcap();
  const real = createRequire(new URL('start.json', distCli));
  const require = Object.assign((id) => (id === 'pcap' ? pcap : real(id)), { resolve: real.resolve, cache: real.cache });
  const main = loadStartBundle(distCli, 'eth', { warm: true, require });
  if (main === undefined) throw new Error('no eth start bundle');
  let stopTimer;
  let gaveUp = false;
  // SIGINT stops the host as a user would; should it not end, the process exits anyway (and
  // writes the cache), so that the build never waits for it.
  const interrupt = () => {
    process.kill(process.pid, 'SIGINT');
    setTimeout(() => process.exit(1), STOP_MS).unref();
  };
  const stop = () => {
    if (stopTimer === undefined) stopTimer = setTimeout(interrupt, CHARGE_LOOP_MS);
  };
  const giveUp = setTimeout(() => {
    console.error('warm-cache: eth did not reach the charge loop');
    gaveUp = true;
    interrupt();
  }, GIVE_UP_MS);
  const closeModule = await serveModule(pcap, stop);
  const code = await main(['eth', '-i', 'lo', '-m', MODULE_MAC, '-r', role, '--no-records', '--log-format', 'json']);
  clearTimeout(giveUp);
  clearTimeout(stopTimer);
  await closeModule();
  return gaveUp ? 1 : code;
}

async function warm() {
  if (command === 'eth') return warmEth();
  const main = loadStartBundle(distCli, command, { warm: true });
  if (main === undefined) throw new Error(`no start bundle for ${command}`);
  return main(command === 'sim' ? ['sim', '--speed', 'max', '--no-records'] : [command, '--help']);
}

try {
  process.exitCode = await warm();
} catch (e) {
  console.error(`warm-cache: ${command}: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
// Whatever a run left open (a timer, a watch), the cache is written when the process exits.
setTimeout(() => process.exit(), 100).unref();
