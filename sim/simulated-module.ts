/**
 * A simulated WHITE-beet module: the core plus the services it models. Usable alone behind any
 * Transport (`freev2g module-sim`) or as one end of a simulated pair.
 */
import type { Observable } from 'rxjs';
import type { Transport } from '../transports/transport.js';
import type { Clock } from '../util/clock.js';
import { VirtualCable } from './cable.js';
import type { ModuleFaults } from './faults.js';
import { ModuleCore, type Role, type TrafficEntry } from './module.js';
import { firmwareEmulation } from './firmware-emulation.js';
import { createPrng } from './prng.js';
import { type Scenario, parseScenario } from './scenario.js';
import { createCertificateService } from './services/certificate-manager.js';
import { createControlPilotService } from './services/control-pilot.js';
import { createSlacService } from './services/slac.js';
import { createFramingService, createNetworkService, createSystemService, createTimeService } from './services/system.js';
import { createV2gService } from './services/v2g.js';

export interface SimulatedModuleOptions {
  role: Role;
  clock: Clock;
  /** The cable to the other module; a module alone gets its own (nothing at the other end). */
  cable?: VirtualCable;
  scenario?: Scenario;
  faults?: ModuleFaults;
  /** "c4:93:00:22:22:22" */
  mac?: string;
  /** Serve frames from this transport (the module's end) right away. */
  transport?: Transport;
  seed?: number;
  /** Firmware version to emulate (firmware/profiles.ts); default: the scenario's, else DEFAULT_FIRMWARE. */
  firmware?: string;
}

export interface SimulatedModule {
  readonly role: Role;
  readonly mac: string;
  /** The firmware version it reports and emulates. */
  readonly firmware: string;
  readonly cable: VirtualCable;
  /** Every frame in (rx, from the host) and out (tx). */
  readonly traffic$: Observable<TrafficEntry>;
  /** Things the simulator could not do the manual's way (encoding bugs); empty in a good run. */
  readonly problems$: Observable<string>;
  /** Serves another transport (replaces the previous one). */
  attach(transport: Transport): void;
  /** Power-on state (as after Restart System), with the scenario's restart timing (Sevenstax/FreeV2G#72). */
  reset(): void;
  /** Fault: the module hangs (answers nothing) or recovers. */
  setSilent(silent: boolean): void;
  close(): Promise<void>;
}

export const DEFAULT_MACS = { EVSE: 'c4:93:00:22:22:22', EV: 'c4:93:00:33:33:33' } as const;

export function macToBytes(mac: string): Uint8Array {
  const parts = mac.split(/[:-]/).map((h) => parseInt(h, 16));
  if (parts.length !== 6 || parts.some((n) => !(n >= 0 && n <= 255))) throw new Error(`not a MAC address: ${mac}`);
  return Uint8Array.from(parts);
}

export function createSimulatedModule(opts: SimulatedModuleOptions): SimulatedModule {
  const scenario = opts.scenario ?? parseScenario({});
  const cable = opts.cable ?? new VirtualCable(opts.clock);
  const mac = opts.mac ?? DEFAULT_MACS[opts.role];
  const seed = opts.seed ?? (opts.role === 'EV' ? 2 : 1);
  const core = new ModuleCore(opts.role, opts.clock, cable, scenario, macToBytes(mac), createPrng(seed), opts.faults);
  const firmware = opts.firmware ?? scenario.firmware?.[opts.role === 'EV' ? 'ev' : 'evse'];
  if (firmware !== undefined) core.firmware = firmwareEmulation(opts.role, firmware);
  core.add(createFramingService(core));
  core.add(createSystemService(core, () => core.restart()));
  core.add(createTimeService(core));
  core.add(createNetworkService(core));
  core.add(createControlPilotService(core));
  core.add(createSlacService(core));
  core.add(createV2gService(core));
  core.add(createCertificateService(core));
  if (opts.transport) core.attach(opts.transport);
  return {
    role: opts.role,
    mac,
    firmware: core.firmware.reported,
    cable,
    traffic$: core.traffic$,
    problems$: core.problems$,
    attach: (t) => core.attach(t),
    reset: () => core.restart(),
    setSilent: (s) => {
      core.silent = s;
    },
    close: async () => core.close(),
  };
}
