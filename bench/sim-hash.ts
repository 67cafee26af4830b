/**
 * Behaviour fingerprint of whole simulated sessions, the path of `freev2g sim --speed max`: every
 * HCI frame (virtual time, module, direction, bytes), the log (JSON lines and the verbose human
 * log) and the session records, each hashed. Run it before and after a performance change: the
 * hashes must be the same (issue 12 target 4).
 *
 * Values measured in host real time (`longestUpdateGapMs`, `longestReactionMs`: util/clock.ts
 * hostNow) differ from run to run and are masked; everything else is on the virtual clock.
 *
 * With SIM_HASH_DUMP=<prefix> the logs and the frames (one line each, as hashed) are also written to
 * <prefix>.<scenario>.<log format>[.frames], to diff two trees.
 *
 *   node --import tsx bench/sim-hash.ts [scenario ...]     (default: sim, default-ac, missed-deadline, renegotiate, slow-precharge)
 */
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { StationSettings } from '../app/config.js';
import type { LogFormat } from '../app/output/reporter.js';
import { runStations } from '../app/run.js';
import { simStations } from '../app/commands/sim.js';
import { carFromScenario, carTargetInScenario, hostScript } from '../app/commands/sim-scenario.js';
import { bytesToHex } from '../codec/frame.js';
import { builtinScenarioPath, createSimulatedPair, loadScenario, parseScenario } from '../sim/index.js';
import { VirtualClock } from '../util/clock.js';

/** The cable of `freev2g sim` without a scenario (app/commands/sim.ts DEFAULT_CABLE). */
const DEFAULT_CABLE = { plugInAfterMs: 1000, unplugAfterSessionMs: 2000, replugAfterMs: 3000 };
const START_MS = Date.UTC(2026, 0, 1);
const REAL_TIME = /"(longestUpdateGapMs|longestReactionMs)":[-0-9.e]+/g;
const REAL_TIME_HUMAN = /^(longest (update gap|reaction)).*$/gim;

interface Fingerprint {
  frames: number;
  framesHash: string;
  logHash: string;
  recordsHash: string;
  exitCode: number;
}

async function run(name: string, logFormat: LogFormat): Promise<Fingerprint> {
  const scenario0 = name === 'sim' ? parseScenario({ name: 'default', cable: DEFAULT_CABLE }) : await loadScenario(builtinScenarioPath(name));
  const [evse, configuredEv] = simStations(['EVSE', 'EV'], []) as [StationSettings, StationSettings];
  const ev = carFromScenario(configuredEv, scenario0).settings;
  const scenario = carTargetInScenario(scenario0, ev);
  const clock = new VirtualClock(START_MS);
  const pair = createSimulatedPair({ clock, evseMac: evse.mac, evMac: ev.mac, scenario });
  const frames = createHash('sha256');
  let count = 0;
  const frameDump = process.env.SIM_HASH_DUMP ? `${process.env.SIM_HASH_DUMP}.${name}.${logFormat}.frames` : undefined;
  const frame = (line: string): void => {
    count++;
    frames.update(line);
    if (frameDump) appendFileSync(frameDump, line);
  };
  pair.evse.traffic$.subscribe((t) => frame(`${t.at} EVSE ${t.dir} ${bytesToHex(t.bytes)}\n`));
  pair.ev.traffic$.subscribe((t) => frame(`${t.at} EV ${t.dir} ${bytesToHex(t.bytes)}\n`));
  const log = createHash('sha256');
  const out = new Writable({
    write: (chunk: Buffer, _e, done) => {
      const text = chunk.toString().replace(REAL_TIME, '"$1":_').replace(REAL_TIME_HUMAN, '$1_');
      if (process.env.SIM_HASH_DUMP) appendFileSync(`${process.env.SIM_HASH_DUMP}.${name}.${logFormat}`, text);
      log.update(text);
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  const result = await runStations({
    stations: [evse, ev].map((s) => ({ settings: s, transport: s.role === 'EVSE' ? pair.evseHost : pair.evHost, hostMac: '02:00:00:00:00:01', moduleMac: s.mac })),
    clock,
    logFormat,
    verbose: true,
    ask: false,
    sessions: 1,
    out,
    ...(ev.ev ? { targetSocPercent: ev.ev.targetSocPercent } : {}),
    onStation: hostScript(scenario.operator, clock, (text) => {
      log.update(`say ${text}\n`);
      if (process.env.SIM_HASH_DUMP) appendFileSync(`${process.env.SIM_HASH_DUMP}.${name}.${logFormat}`, `say ${text}\n`);
    }),
    cleanup: () => pair.close(),
  });
  const records = JSON.stringify(result.records).replace(REAL_TIME, '"$1":_');
  return {
    frames: count,
    framesHash: frames.digest('hex').slice(0, 16),
    logHash: log.digest('hex').slice(0, 16),
    recordsHash: createHash('sha256').update(records).digest('hex').slice(0, 16),
    exitCode: result.exitCode,
  };
}

const names = process.argv.slice(2);
for (const name of names.length ? names : ['sim', 'default-ac', 'missed-deadline', 'renegotiate', 'slow-precharge']) {
  const json = await run(name, 'json');
  const human = await run(name, 'human');
  const same = json.framesHash === human.framesHash ? '' : ` (human run frames ${human.framesHash})`;
  console.log(`${name.padEnd(16)} exit ${json.exitCode} frames ${json.frames} ${json.framesHash}${same} | json log ${json.logHash} | human log ${human.logHash} | records ${json.recordsHash}`);
}
