/**
 * A whole charging session with the EVSE station on the SPI transport (manual 9.2), on the
 * virtual clock:
 *   EVSE station -> HCI client -> createSpiTransport(simulated bus + GPIO lines)
 *     -> simulated SPI slave -> simulated EVSE module <-virtual cable-> simulated EV module
 *     <- memory transport <- EV station.
 * The slave checks the master's conduct at every transfer (RX_READY, chip-select delay, size and
 * data exchanges); any breach fails the test, and the transfers are checked once more here.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { decodeDataExchange, decodeSizeExchange, DATA_EXCHANGE_HEADER_SIZE } from '../../codec/link-headers.js';
import { createHciClient } from '../../machines/hci-client.js';
import { createSimulatedPair, parseScenario, serveOverSpi, type SimSpiSlave, type TransferRecord } from '../../sim/index.js';
import { CS_DELAY_US, type SpiTransport } from '../../transports/spi.js';
import { SteppingClock, spiOnSlave } from '../helpers/spi-slave.js';
import { startStations } from '../helpers/stations.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function rig() {
  const clock = new SteppingClock();
  const pair = createSimulatedPair({ clock, scenario: parseScenario({ ev: { battery: { capacityWh: 1000, socTargetPercent: 80 } } }) });
  const violations: string[] = [];
  const slave = serveOverSpi(pair.evseHost, clock, { onViolation: (v) => violations.push(`${clock.now()}: ${v}`) });
  const spi = spiOnSlave(slave, clock);
  const links: string[] = [];
  spi.linkState$.subscribe((s) => links.push(s.up ? 'up' : `down:${s.reason}`));
  const evseClient = createHciClient({ transport: spi, clock });
  const evClient = createHciClient({ transport: pair.evHost, clock });
  let hostFrames = 0;
  evseClient.traffic$.subscribe((t) => {
    if (t.dir === 'tx') hostFrames++;
  });
  const { evse, ev, records, logs } = startStations({ clock, evseClient, evClient });
  cleanups.push(async () => {
    evse.stop();
    ev.stop();
    await evseClient.close();
    await evClient.close();
    await spi.close();
    await pair.close();
  });
  return { clock, slave, spi, violations, links, records, logs, hostFrames: () => hostFrames };
}

/**
 * Re-checks 9.2.4/9.2.5 from the recorded transfers: size exchange then data exchange, each data
 * exchange 4 + the larger of both announced sizes, and the master waited out RX_READY (the
 * slave keeps it low for 30 µs after every transfer) and the chip-select delay.
 */
function protocolBreaches(slave: SimSpiSlave): string[] {
  const out: string[] = [];
  const t: TransferRecord[] = slave.transfers;
  for (let i = 0; i + 1 < t.length; i += 2) {
    const size = t[i];
    const data = t[i + 1];
    if (!size || !data) break;
    const mine = decodeSizeExchange(size.tx);
    const theirs = decodeSizeExchange(size.rx);
    if (size.kind !== 'size' || mine === undefined || theirs === undefined) {
      out.push(`transfer ${i}: not a size exchange`);
      continue;
    }
    if (data.kind !== 'data' || !decodeDataExchange(data.tx)) out.push(`transfer ${i + 1}: not a data exchange`);
    if (data.tx.length !== DATA_EXCHANGE_HEADER_SIZE + Math.max(mine, theirs)) {
      out.push(`transfer ${i + 1}: ${data.tx.length} bytes for sizes ${mine}/${theirs}`);
    }
  }
  if (t.length % 2 !== 0) out.push('an unfinished exchange');
  for (let i = 1; i < t.length; i++) {
    const prev = t[i - 1];
    const cur = t[i];
    if (!prev || !cur) continue;
    // Previous transfer's clocking time + 30 µs busy + 20 µs chip-select delay.
    const clocking = (prev.tx.length * 8) / 8_000_000;
    const gapUs = (cur.at - prev.at - clocking * 1000) * 1000;
    if (gapUs < 30 + CS_DELAY_US - 1e-3) out.push(`transfer ${i}: only ${gapUs.toFixed(1)} µs after the previous one`);
  }
  return out;
}

describe('EVSE station over SPI (manual 9.2) on the simulated module pair', () => {
  it('charges a car from plug-in to stop, keeping the SPI rules at every transfer', async () => {
    const r = rig();
    const ended = (): boolean => r.records('EVSE').length >= 1 && r.records('EV').length >= 1;
    expect(await r.clock.drive(ended, 3_600_000)).toBe(true);

    const [evseRec] = r.records('EVSE');
    const [evRec] = r.records('EV');
    expect(evseRec).toMatchObject({ protocol: 'ISO15118-2', energyTransferMode: 'dcCore', evccId: '000101637731', stopReason: 'evStopped' });
    expect(evseRec?.error).toBeUndefined();
    expect(evseRec?.energyDeliveredWh).toBeGreaterThan(250);
    expect(evRec).toMatchObject({ stopReason: 'targetSocReached', socStartPercent: 50 });
    expect(evRec?.socEndPercent).toBeGreaterThanOrEqual(80);

    // Plug, SLAC, session, charge loop and stop, all through SPI.
    const evseLogs = r.logs('EVSE');
    for (const line of ['EV connected', 'SLAC matching successful', '"Session started" received', '"Start Charging Requested" received', '"Session stopped" received']) {
      expect(evseLogs, line).toContain(line);
    }

    // The SPI rules held throughout.
    expect(r.violations).toEqual([]);
    expect(r.slave.violations).toEqual([]);
    expect(protocolBreaches(r.slave)).toEqual([]);
    expect(r.links).toEqual(['up']);
    expect(r.spi.counters).toMatchObject({ outOfSync: 0, resets: 0, framingErrors: 0 });
    // Every HCI frame crosses the bus: what the host sent, the slave received (the last one may
    // still be on its way when the records come in), and back.
    expect(await r.clock.drive(() => r.slave.received.length === r.hostFrames() && r.spi.counters.sent === r.hostFrames(), 1000)).toBe(true);
    expect(r.spi.counters.received).toBeGreaterThan(r.hostFrames());
    expect(r.slave.transfers.length).toBe(2 * r.spi.counters.exchanges);
    // Event-driven, no polling: never more exchanges than frames moved.
    expect(r.spi.counters.exchanges).toBeLessThanOrEqual(r.spi.counters.sent + r.spi.counters.received);
    // Both directions announced the larger size at times (requests vs. longer responses/status).
    const sizes = r.slave.transfers.filter((t) => t.kind === 'size').map((t): [number, number] => [decodeSizeExchange(t.tx) ?? 0, decodeSizeExchange(t.rx) ?? 0]);
    expect(sizes.some(([host, module]) => host > module)).toBe(true);
    expect(sizes.some(([host, module]) => module > host)).toBe(true);
  }, 60_000);

  it('fails on a breach: a master that skips the chip-select delay is caught', async () => {
    const clock = new SteppingClock();
    const pair = createSimulatedPair({ clock, scenario: parseScenario({ cable: { plugInAfterMs: null } }) });
    const violations: string[] = [];
    const slave = serveOverSpi(pair.evseHost, clock, { onViolation: (v) => violations.push(v) });
    const spi: SpiTransport = spiOnSlave(slave, clock, { csDelayUs: 5 });
    const client = createHciClient({ transport: spi, clock });
    cleanups.push(async () => {
      await client.close();
      await spi.close();
      await pair.close();
    });
    const { System } = await import('../../codec/catalog.js');
    let answered = false;
    void client.request(System.GetFirmwareVersion, {}).then(() => (answered = true));
    expect(await clock.drive(() => answered)).toBe(true);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations[0]).toMatch(/chip-select delay 5\.0 µs < 20 µs/);
  });
});
