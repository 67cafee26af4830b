/**
 * `freev2g sim` (the default `npm start`): an EVSE station and an EV station driving the two
 * simulated WHITE-beet modules of sim/, through a whole charging session, printed like the
 * reference application prints it, then a summary. Time runs on a sped-up real clock (default
 * x60: the default session, ~13 simulated minutes, takes ~14 s) or, with `--speed max`, on a
 * virtual clock that jumps to the next timer as soon as everything else is done.
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { type Scenario, builtinScenarioPath, createSimulatedPair, loadScenario, parseScenario } from '../../sim/index.js';
import { firmwareKey } from '../../sim/firmware-emulation.js';
import { type Clock, RealClock, VirtualClock } from '../../util/clock.js';
import { CliError, EXIT } from '../exit.js';
import { ConfigError, type Role, type StationSettings, cliEnv, loadStations } from '../config.js';
import { type RunStation, runStations } from '../run.js';
import { type RunFlags, addRunOptions, runSettings } from './common.js';
import { carFromScenario, carTargetInScenario, hostScript } from './sim-scenario.js';

export const DEFAULT_SPEED = 60;
/** The cable of a run without a scenario: unplug 2 s after each session, back 3 s later. */
const DEFAULT_CABLE = { plugInAfterMs: 1000, unplugAfterSessionMs: 2000, replugAfterMs: 3000 };
/** The simulated modules' MACs unless the configuration names them: the reference's EVSE
 * default and the EV MAC of its ev.json (which is also the default EVCC ID). */
const SIM_MODULE_MAC: Record<Role, string> = { EVSE: '00:01:01:63:77:33', EV: '00:01:01:63:77:31' };
/**
 * A simulated module's set-up is tried this many times in a row before its station gives up and
 * the run ends (exit 5): the waits in between (5+10+20+40+60 s, machines/setup-retry.ts) outlast
 * any fault of the simulated links, and a simulated module that refuses its set-up that long is
 * scripted to (a scenario), so a finite run must end. `eth`/`spi` keep trying until a signal.
 */
export const SIM_SET_UP_ATTEMPTS = 6;
/** Host-side MACs for captures of simulated links (locally administered). */
const SIM_HOST_MAC: Record<Role, string> = { EVSE: '02:00:00:00:00:01', EV: '02:00:00:00:00:02' };

interface SimFlags extends RunFlags {
  role: string;
  config?: string[];
  speed?: string;
  scenario?: string;
  replay?: string;
  firmware?: string[];
}

export function parseSpeed(value: string | undefined): number | 'max' {
  const v = value ?? cliEnv('SPEED') ?? String(DEFAULT_SPEED);
  if (v === 'max') return 'max';
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new CliError(`--speed must be a number > 0 or "max", got "${v}"`, EXIT.usage);
  return n;
}

function rolesOf(value: string): Role[] {
  const v = value.toUpperCase();
  if (v === 'BOTH') return ['EVSE', 'EV'];
  if (v === 'EVSE' || v === 'EV') return [v];
  throw new CliError(`-r must be EVSE, EV or both, got "${value}"`, EXIT.usage);
}

/** The station of each role: from the -c files (later files win per role), else the defaults. */
export function simStations(roles: Role[], files: string[]): StationSettings[] {
  const byRole = new Map<Role, StationSettings>();
  const macFor = (role: Role): string => SIM_MODULE_MAC[role];
  for (const file of files) for (const s of loadStations(file, { macFor })) byRole.set(s.role, s);
  return roles.map((role) => byRole.get(role) ?? (loadStations(undefined, { role, macFor })[0] as StationSettings));
}

async function loadScenarioFile(path: string | undefined): Promise<{ scenario: Scenario; file: string } | undefined> {
  if (path === undefined) return undefined;
  const file = existsSync(path) ? path : builtinScenarioPath(path);
  if (!existsSync(file)) throw new ConfigError(`${path}: scenario file not found (nor a built-in scenario of that name)`);
  try {
    return { scenario: await loadScenario(file), file };
  } catch (e) {
    throw new ConfigError(e instanceof Error ? e.message : String(e));
  }
}

/** The station files a scenario names (`hosts`), relative to it; -c files given later win. */
function scenarioHostFiles(loaded: { scenario: Scenario; file: string } | undefined): string[] {
  const hosts = loaded?.scenario.hosts;
  if (!loaded || !hosts) return [];
  return [hosts.evse, hosts.ev].filter((f): f is string => f !== undefined).map((f) => resolve(dirname(loaded.file), f));
}

/** `--replay`: our host against a captured module side (app/replay, docs/replay.md). */
async function replay(flags: SimFlags, capture: string): Promise<void> {
  const role = flags.role.toLowerCase() === 'both' ? undefined : (rolesOf(flags.role)[0] as Role);
  if (!existsSync(capture)) throw new CliError(`${capture}: capture file not found`, EXIT.usage);
  const { runReplay } = await import('../replay/run.js');
  let result: Awaited<ReturnType<typeof runReplay>>;
  try {
    result = await runReplay({
      capture,
      ...(role ? { role } : {}),
      settingsFor: (r) => simStations([r], flags.config ?? [])[0] as StationSettings,
      verbose: flags.verbose === true,
    });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof CliError) throw e;
    throw new CliError(e instanceof Error ? e.message : String(e), EXIT.usage);
  }
  for (const line of result.lines) process.stdout.write(`${line}\n`);
  process.exitCode = result.exitCode;
}

/** `--firmware` values into the scenario's `firmware` key (each to its module by version). */
function withFirmware(scenario: Scenario | undefined, versions: string[] | undefined): Scenario | undefined {
  if (!versions?.length) return scenario;
  let key: ReturnType<typeof firmwareKey>;
  try {
    key = firmwareKey(versions);
  } catch (e) {
    throw new ConfigError(e instanceof Error ? e.message : String(e));
  }
  const base = scenario ?? parseScenario({});
  return { ...base, firmware: { ...base.firmware, ...key } };
}

async function run(flags: SimFlags): Promise<void> {
  if (flags.replay !== undefined) return replay(flags, flags.replay);
  const loaded = await loadScenarioFile(flags.scenario);
  const files = [...scenarioHostFiles(loaded), ...(flags.config ?? [])];
  const settings = runSettings(flags, false, files);
  const shown = rolesOf(flags.role);
  const speed = parseSpeed(flags.speed);
  // Both stations always run (a module needs its host); -r picks the ones printed and recorded.
  const [evseSettings, configuredEv] = simStations(['EVSE', 'EV'], files) as [StationSettings, StationSettings];
  // Without a scenario the simulated car unplugs after each session and comes back, so
  // `--sessions N` ends (the EVSE waits for an unplug before its next session).
  const scripted = withFirmware(loaded?.scenario ?? parseScenario({ name: 'default', cable: DEFAULT_CABLE }), flags.firmware) as Scenario;
  const car = carFromScenario(configuredEv, scripted);
  const evSettings = car.settings;
  const scenario = carTargetInScenario(scripted, evSettings);
  const clock: Clock = speed === 'max' ? new VirtualClock(Date.now()) : new RealClock(speed);
  const pair = createSimulatedPair({ clock, evseMac: evseSettings.mac, evMac: evSettings.mac, scenario });
  const runList: RunStation[] = [evseSettings, evSettings].map((s) => ({
    settings: s,
    transport: s.role === 'EVSE' ? pair.evseHost : pair.evHost,
    hostMac: SIM_HOST_MAC[s.role],
    moduleMac: s.mac,
    quiet: !shown.includes(s.role),
  }));
  const ev = evSettings.ev;
  if (settings.logFormat === 'human') {
    const what = shown.length === 2 ? 'EVSE and EV' : shown[0];
    process.stdout.write(`Welcome to the freev2g ${what} simulation (clock ${speed === 'max' ? 'virtual, as fast as possible' : `x${speed}`})\n`);
  }
  // Human log only: JSON lines carry station events, and these are the CLI's.
  const say = (text: string): void => {
    if (settings.logFormat === 'human') process.stdout.write(`${text}\n`);
  };
  if (car.changes.length > 0) say(`Scenario ${scenario.name}: the car's settings come from the scenario and win over the EV configuration (${car.changes.join(', ')})`);
  if (settings.sessions !== 1 && scenario.cable.unplugAfterSessionMs === null && scenario.cable.unplugIn === undefined) {
    say(`Scenario ${scenario.name} never unplugs the car: after the first session the stations wait for an unplug that cannot come (stop with Ctrl-C)`);
  }
  const result = await runStations({
    stations: runList,
    clock,
    ...settings,
    ...(ev ? { targetSocPercent: ev.targetSocPercent } : {}),
    onStation: hostScript(scenario.operator, clock, say),
    cleanup: () => pair.close(),
    setUpAttempts: SIM_SET_UP_ATTEMPTS,
  });
  if (settings.logFormat === 'human') process.stdout.write('Goodbye!\n');
  process.exitCode = result.exitCode;
}

export function register(program: Command): void {
  const cmd = program
    .command('sim')
    .description('Run a whole charging session between an EVSE station and an EV station on the simulated module pair')
    .option('-r, --role <role>', 'which stations to print and record: EVSE, EV or both (both always run; each module needs its host)', 'both')
    .option('-c, --config <file>', 'station configuration (reference JSON layout); repeat for EVSE and EV files', (v: string, prev: string[] = []) => [...prev, v])
    .option('--speed <n|max>', `clock speed factor (default ${DEFAULT_SPEED}), or "max" for a virtual clock run as fast as possible`)
    .option('--scenario <file>', 'scenario for the simulated modules (JSON, see sim/scenarios; or a built-in name)')
    .option(
      '--replay <capture>',
      'play the module side of a captured session (pcap/pcapng) against our host; -r picks the host (default: from the capture); exit 0 same flow, 1 diverged (docs/replay.md)',
    )
    .option('--firmware <version>', 'firmware a simulated module emulates (docs/firmware.md), e.g. V02_01_00 or V01_00_04; repeat for both', (v: string, prev: string[] = []) => [...prev, v]);
  addRunOptions(cmd, false)
    .addHelpText(
      'after',
      '\nExit codes: 0 session(s) done (or stopped by SIGINT/SIGTERM), 2 usage, 3 configuration, 5 a session\n' +
        `ended on an error or a station failed (a module set-up failed ${SIM_SET_UP_ATTEMPTS} times in a row), 130 second signal.\n` +
        'Environment: FREEV2G_SPEED, FREEV2G_LOG_FORMAT, FREEV2G_RECORDS,\n' +
        'FREEV2G_CAPTURE, FREEV2G_INSPECT, and FREEV2G_<KEY>__<KEY> for configuration keys (see docs/service.md).',
    )
    .action(run);
}
