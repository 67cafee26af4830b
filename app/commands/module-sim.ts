/**
 * `freev2g module-sim --role EVSE|EV -i <if>`: serves one simulated WHITE-beet module over
 * raw Ethernet (manual 9.1, ethertype 0x6003), so a host (this project's `eth` command, the
 * Python reference) can talk to it as to real hardware. The other module of the virtual cable
 * is driven by this project's own station for the opposite role (machines/); when the machines
 * cannot be loaded, a scripted host stub (sim/stub-stations.ts) plays that side instead. The
 * cable plugs in, and after every session it unplugs and plugs in again, so the module keeps
 * serving sessions until SIGINT/SIGTERM.
 */
import { type Command, Option } from 'commander';
import { builtinScenarioPath, createSimulatedPair, loadScenario, parseScenario, type Scenario, type SimulatedPair } from '../../sim/index.js';
import { firmwareKey } from '../../sim/firmware-emulation.js';
import { ScriptedHost } from '../../sim/host-stub.js';
import { runEvStub, runEvseStub } from '../../sim/stub-stations.js';
import { ENERGY_TRANSFER_MODES } from '../../codec/modules/v2g/common.js';
import type { Transport } from '../../transports/transport.js';
import { type Clock, RealClock } from '../../util/clock.js';
import { CliError, EXIT } from '../exit.js';
import { roleOf } from './common.js';

type Role = 'EVSE' | 'EV';

interface ModuleSimFlags {
  role: string;
  interface?: string;
  /** Hidden alias of --interface. */
  iface?: string;
  mac?: string;
  hostMac?: string;
  scenario?: string;
  speed?: string;
  stub?: boolean;
  verbose?: boolean;
  firmware?: string;
}

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function scenarioOf(name: string | undefined): Promise<Scenario> {
  let s: Scenario;
  if (name === undefined) s = parseScenario({ name: 'module-sim' });
  else {
    const { existsSync } = await import('node:fs');
    const file = existsSync(name) ? name : builtinScenarioPath(name);
    if (!existsSync(file)) throw new CliError(`${name}: scenario file not found (nor a built-in scenario of that name)`, EXIT.config);
    try {
      s = await loadScenario(file);
    } catch (e) {
      throw new CliError(e instanceof Error ? e.message : String(e), EXIT.config);
    }
  }
  // Keep serving: unplug after each session and plug in again.
  return {
    ...s,
    cable: { ...s.cable, unplugAfterSessionMs: s.cable.unplugAfterSessionMs ?? 2_000, replugAfterMs: s.cable.replugAfterMs ?? 3_000 },
  };
}

/** The opposite side by the project's own station machines; false when they cannot load. */
async function driveWithStation(role: Role, transport: Transport, clock: Clock, moduleMac: string): Promise<Promise<unknown> | false> {
  try {
    const [{ runStations }, { loadStation }] = await Promise.all([import('../run.js'), import('../config.js')]);
    const settings = loadStation(undefined, role);
    return runStations({
      stations: [{ settings, transport, hostMac: '02:00:00:00:00:03', moduleMac }],
      clock,
      logFormat: 'human',
      ask: false,
      sessions: 0,
    });
  } catch (e) {
    out(`module-sim: the ${role} station machines are not available (${e instanceof Error ? e.message : String(e)}); a scripted host stub drives the ${role} module`);
    return false;
  }
}

/** The opposite side by the scripted stub: one run per plug-in. */
function driveWithStub(role: Role, pair: SimulatedPair, clock: Clock): void {
  const host = new ScriptedHost(role === 'EV' ? pair.evHost : pair.evseHost, clock);
  const mode = pair.scenario.ev.energyTransferMode;
  const session = (): void => {
    const run = role === 'EV' ? runEvStub(host, clock, { energyTransferMode: mode === undefined ? 1 : ENERGY_TRANSFER_MODES.indexOf(mode), chargeForMs: 20_000 }) : runEvseStub(host, clock);
    run.catch((e: unknown) => out(`module-sim: ${role} stub: ${e instanceof Error ? e.message : String(e)}`));
  };
  // The EVSE stub gets ready before each plug-in (it waits for state B); the EV stub starts when
  // the car is plugged in (it waits for 5 % PWM).
  if (role === 'EVSE') session();
  pair.cable.events$.subscribe((e) => {
    if ((role === 'EVSE' && e.type === 'unplug') || (role === 'EV' && e.type === 'plug')) session();
  });
}

async function run(flags: ModuleSimFlags): Promise<void> {
  const iface = flags.interface ?? flags.iface;
  if (iface === undefined) throw new CliError("required option '-i, --interface <name>' not specified", EXIT.usage);
  const role = roleOf(flags.role);
  const other: Role = role === 'EVSE' ? 'EV' : 'EVSE';
  const speed = flags.speed === undefined ? 1 : Number(flags.speed);
  if (!(speed > 0)) throw new CliError(`--speed must be a number > 0, got "${flags.speed}"`, EXIT.usage);
  const clock = new RealClock(speed);
  const startedAt = clock.now();
  const base = await scenarioOf(flags.scenario);
  const scenario = flags.firmware === undefined ? base : { ...base, firmware: { ...base.firmware, ...firmwareKey([flags.firmware], role) } };
  const { createEthTransport } = await import('../../transports/eth.js');
  let eth: Transport & { ownMac: string };
  try {
    eth = await createEthTransport({
      iface,
      role: 'module',
      clock,
      ...(flags.mac ? { ownMac: flags.mac } : {}),
      ...(flags.hostMac ? { peerMac: flags.hostMac } : {}),
    });
  } catch (e) {
    throw new CliError(`${iface}: ${e instanceof Error ? e.message : String(e)}`, EXIT.transport);
  }
  const pair = createSimulatedPair({
    clock,
    scenario,
    ...(role === 'EVSE' ? { evseMac: eth.ownMac } : { evMac: eth.ownMac }),
  });
  const served = role === 'EVSE' ? pair.evse : pair.ev;
  served.attach(eth);
  out(`module-sim: simulated ${role} module (${role === 'EVSE' ? 'WHITE-beet-EI' : 'WHITE-beet-PI'}) on ${iface}, MAC ${eth.ownMac}, firmware ${served.firmware}`);
  pair.cable.events$.subscribe((e) => {
    if (e.type === 'plug' || e.type === 'unplug') out(`cable: ${e.type}`);
    else if (e.type === 'slac') out(`cable: SLAC ${e.side} ${e.result}`);
    else if (e.type === 'plcLink') out(`cable: PLC link ${e.up ? 'up' : 'down'}`);
    else if (e.type === 'phase') out(`cable: session phase ${e.phase}`);
  });
  served.problems$.subscribe((p) => out(`module-sim: ${p}`));
  if (flags.verbose) {
    served.traffic$.subscribe((f) => out(`hci ${f.dir} ${((f.at - startedAt) / 1000).toFixed(3)} ${Buffer.from(f.bytes).toString('hex')}`));
  }

  const otherTransport = other === 'EVSE' ? pair.evseHost : pair.evHost;
  const station = flags.stub ? false : await driveWithStation(other, otherTransport, clock, other === 'EVSE' ? pair.evse.mac : pair.ev.mac);
  if (station === false) driveWithStub(other, pair, clock);

  const stop = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await (station === false ? stop : Promise.race([stop, station]));
  await pair.close();
  await eth.close();
  out('module-sim: stopped');
}

export function register(program: Command): void {
  program
    .command('module-sim')
    .description('Serve one simulated WHITE-beet module over raw Ethernet; the other end of its virtual cable is driven by this project')
    .requiredOption('-r, --role <role>', 'the module to serve: EVSE (WHITE-beet-EI) or EV (WHITE-beet-PI)')
    .option('-i, --interface <name>', 'network interface to serve on (required)')
    // The name this option had before it was spelled like every other command's.
    .addOption(new Option('--iface <name>').hideHelp())
    .option('-m, --mac <mac>', "the module's MAC address (default: the interface's)")
    .option('--host-mac <mac>', 'answer only this host (default: whichever host addresses the module)')
    .option('--scenario <file>', 'scenario (JSON, see sim/scenarios; or a built-in name)')
    .option('--speed <n>', 'clock speed factor (default 1)')
    .option('--firmware <version>', 'firmware the served module emulates (docs/firmware.md), e.g. V02_00_01')
    .option('--stub', 'drive the other module with the scripted host stub instead of the station machines')
    .option('-v, --verbose', 'print every HCI frame the served module receives (rx) and sends (tx)')
    .action(run);
}
