/**
 * The set-up the tests of a device behind MQTT share (`--power-stage mqtt`, `--ev-battery mqtt`):
 * one real broker (mosquitto) per test file, a fake device answering over it under a fresh topic
 * prefix per test, both stations on the virtual clock with the control plane attached, and
 * clean-ups after each test. Call `mqttDeviceRig()` at the top level of the test file.
 */
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { ControlSettings } from '../../app/control/index.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { type ControlRun, type ControlRunOptions, startControlRun } from './control-run.js';
import { type Mosquitto, startMosquitto } from './mosquitto.js';

export interface MqttDeviceRun<D> {
  prefix: string;
  device: D;
  run: ControlRun;
  /**
   * Steps the virtual clock 20 ms per 5 ms of real time until `done()` (or `maxMs` of simulated
   * time): the broker's round trips fit well inside the simulated bounds.
   */
  fine(done: () => boolean, maxMs?: number): Promise<boolean>;
  /** The session records and log lines of the station the device belongs to. */
  records(): SessionRecord[];
  logs(): string[];
}

export interface MqttDeviceRig {
  readonly broker: Mosquitto;
  /** Run after the current test, first to last (a device pushes its own). */
  readonly cleanups: Array<() => Promise<void>>;
  /** A fake device on a fresh prefix, then the stations using it (`control`: e.g. `{ powerStage: 'mqtt' }`). */
  start<D>(role: 'EVSE' | 'EV', control: ControlSettings, device: (prefix: string) => Promise<D>, options?: ControlRunOptions): Promise<MqttDeviceRun<D>>;
}

export function mqttDeviceRig(): MqttDeviceRig {
  let broker: Mosquitto | undefined;
  beforeAll(async () => {
    broker = await startMosquitto();
  });
  afterAll(async () => {
    await broker?.destroy();
  });
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });
  const rig: MqttDeviceRig = {
    get broker(): Mosquitto {
      if (!broker) throw new Error('the broker starts in beforeAll');
      return broker;
    },
    cleanups,
    async start(role, control, device, options = {}) {
      const prefix = `t${Math.random().toString(36).slice(2, 8)}`;
      const dev = await device(prefix);
      const run = await startControlRun({ mqtt: rig.broker.url, mqttPrefix: prefix, ...control }, options);
      // The stations stop before the device goes away.
      cleanups.unshift(() => run.close());
      await run.plane.ready();
      const fine = async (done: () => boolean, maxMs = 600_000): Promise<boolean> => {
        const end = run.clock.now() + maxMs;
        while (!done() && run.clock.now() < end) {
          const target = Math.min(end, run.clock.now() + 20);
          await run.clock.runUntil(done, target - run.clock.now(), 20);
          // No timer left (a station idle between sessions): time passes all the same.
          if (run.clock.now() < target) run.clock.advance(target - run.clock.now());
          await new Promise((r) => setTimeout(r, 5));
        }
        return done();
      };
      const records = () => run.emitted[role].flatMap((e) => (e.type === 'sessionEnded' ? [e.record] : []));
      const logs = () => run.emitted[role].flatMap((e) => (e.type === 'log' ? [e.text] : []));
      return { prefix, device: dev, run, fine, records, logs };
    },
  };
  return rig;
}

/** Waits up to `ms` of real time for `done()` (something that travels through the broker). */
export async function untilReal(done: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
