/**
 * `freev2g spi`: the command's runner with simulated hardware handed in where the real opener
 * (spi-device + onoff) would be, and the binary itself on this machine, which has no SPI device.
 */
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { CliError, EXIT } from '../../app/exit.js';
import type { HardwareFlags } from '../../app/commands/hardware.js';
import { openRealSpi, runSpi, type SpiFlags, type SpiOpener } from '../../app/commands/spi.js';
import { createHciClient } from '../../machines/hci-client.js';
import { createEvStation, evConfig } from '../../machines/index.js';
import { createSimulatedPair, parseScenario, serveOverSpi, type SimSpiSlave, type SimulatedPair } from '../../sim/index.js';
import type { OpenSpiOptions } from '../../transports/spi.js';
import { TransportError } from '../../transports/transport.js';
import { VirtualClock } from '../../util/clock.js';
import { runCli } from '../helpers/app-helpers.js';
import { spiOnSlave } from '../helpers/spi-slave.js';
import { QUICK_SLAC, SMALL_BATTERY } from '../helpers/stations.js';

const cleanups: Array<() => Promise<void> | void> = [];
const savedExitCode = process.exitCode;
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  // runHardware sets the process exit code for the binary; not ours to keep in the test worker.
  process.exitCode = savedExitCode;
});

function collector(): { out: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { out: w as unknown as NodeJS.WriteStream, text: () => text };
}

const flags = (extra: Partial<HardwareFlags> = {}): HardwareFlags => ({ interface: 'spidev0.0', role: 'EVSE', records: false, ask: false, ...extra });

/**
 * Fake hardware: the simulated SPI slave in front of the simulated EVSE module, the EV module
 * of the pair driven by an EV station over memory. Opened on the clock the runner hands in.
 */
function fakeHardware() {
  const asked: OpenSpiOptions[] = [];
  const violations: string[] = [];
  let pair: SimulatedPair | undefined;
  let slave: SimSpiSlave | undefined;
  const open: SpiOpener = async (options) => {
    asked.push(options);
    const clock = options.clock;
    if (!clock) throw new Error('the runner must hand its clock to the opener');
    pair = createSimulatedPair({ clock, scenario: parseScenario({ ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } } }) });
    const s = serveOverSpi(pair.evseHost, clock, { onViolation: (v) => violations.push(v) });
    slave = s;
    const evClient = createHciClient({ transport: pair.evHost, clock });
    const ev = createEvStation({ client: evClient, clock, config: evConfig({ battery: SMALL_BATTERY, targetSocPercent: 80, slac: QUICK_SLAC }) });
    const p = pair;
    cleanups.push(async () => {
      ev.stop();
      await evClient.close();
      await p.close();
    });
    return spiOnSlave(s, clock);
  };
  return { open, asked, violations, slave: () => slave };
}

describe('freev2g spi: the runner with simulated hardware', () => {
  it('runs an EVSE session over the SPI transport to a clean exit', async () => {
    const hw = fakeHardware();
    const log = collector();
    const result = await runSpi(flags(), 'EVSE', { openSpi: hw.open, clock: new VirtualClock(), out: log.out });
    expect(hw.asked).toHaveLength(1);
    expect(hw.asked[0]?.device).toBe('spidev0.0');
    expect(result.exitCode).toBe(EXIT.ok);
    expect(result.records).toHaveLength(1);
    expect(result.records[0]).toMatchObject({ stopReason: 'evStopped', energyTransferMode: 'dcCore' });
    expect(result.records[0]?.error).toBeUndefined();
    expect(log.text()).toMatch(/^Welcome to freev2g EVSE \(spidev0\.0, module /);
    expect(log.text()).toContain('SLAC matching successful');
    expect(log.text()).toMatch(/Goodbye!\n$/);
    expect(hw.violations).toEqual([]);
    expect(hw.slave()?.transfers.length).toBeGreaterThan(100);
  }, 60_000);

  it('turns an opener failure into a transport error (exit 4) naming the device', async () => {
    const open: SpiOpener = () => Promise.reject(new TransportError('noSuchInterface', '/dev/spidev0.0 (enable SPI, e.g. dtparam=spi=on): not present'));
    const err = await runSpi(flags(), 'EVSE', { openSpi: open, clock: new VirtualClock(), out: collector().out }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.transport);
    expect((err as CliError).message).toContain('/dev/spidev0.0');
  });

  it('passes the wiring options of the command line to the opener, and only those', async () => {
    const seen: Parameters<SpiOpener>[0][] = [];
    const open: SpiOpener = (o) => {
      seen.push(o);
      return Promise.reject(new TransportError('noSuchInterface', 'not present'));
    };
    const run = (extra: Partial<SpiFlags>) => runSpi({ ...flags(), ...extra }, 'EVSE', { openSpi: open, clock: new VirtualClock(), out: collector().out }).catch(() => undefined);
    await run({});
    await run({ gpioOffset: 512, csGpio: null, rxReadyGpio: 5, speedHz: 12_000_000 });
    expect(seen[0]).toEqual({ device: 'spidev0.0', clock: expect.anything() });
    expect(seen[1]).toEqual({ device: 'spidev0.0', clock: expect.anything(), gpioOffset: 512, csGpio: null, rxReadyGpio: 5, speedHz: 12_000_000 });
  });

  it.runIf(!existsSync('/dev/spidev0.0'))('defaults to the real hardware (spi-device + onoff): here no /dev/spidev0.0', async () => {
    const err = await runSpi(flags(), 'EVSE', { clock: new VirtualClock(), out: collector().out }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.transport);
    expect((err as CliError).message).toMatch(/\/dev\/spidev0\.0.*not present/);
    expect(openRealSpi).toBeTypeOf('function');
  });
});

describe('freev2g spi: the binary on a machine without SPI', () => {
  it.runIf(!existsSync('/dev/spidev0.0'))(
    'exits 4 with one line naming the missing device',
    async () => {
      const r = await runCli(['spi', '-i', 'spidev0.0', '-r', 'EVSE', '--no-records'], { timeoutMs: 30_000 });
      expect(r.code).toBe(EXIT.transport);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^freev2g: .*\/dev\/spidev0\.0/);
      expect(r.stdout).toBe('');
    },
    40_000,
  );
});
