import { describe, expect, it } from 'vitest';
import { bytesToHex, encodeFrame, hexToBytes } from '../../codec/frame.js';
import { clockDelayUs, createSpiTransport, openSpiTransport, type SpiTransportOptions } from '../../transports/spi.js';
import { parseSpiDeviceName } from '../../transports/spi-hw.js';
import { SimSpiSlave, type SpiRig, type SpiSlaveOptions, SteppingClock, sendAll, spiOnSlave, spiRig } from '../helpers/spi-slave.js';

// Manual 9.2.7: a 13-byte Ping, checksum not computed.
const PING = hexToBytes('C0 0E 00 01 00 05 01 02 03 04 05 00 C1');
const frameOf = (n: number, reqId: number): Uint8Array => encodeFrame({ modId: 0x0e, subId: 0x01, reqId, payload: Uint8Array.from({ length: n }, (_, i) => (i + reqId) & 0xff) });

type Rig = SpiRig;

function rig(slaveOptions: SpiSlaveOptions = {}, options: Partial<SpiTransportOptions> = {}, withReset = false): Rig {
  const clock = new SteppingClock();
  const slave = new SimSpiSlave(clock, slaveOptions);
  return spiRig(clock, slave, { reset: withReset ? slave.reset : undefined, ...options });
}

const kinds = (r: Rig): string => r.slave.transfers.map((x) => x.kind[0]).join('');

describe('SPI transport against the simulated slave (manual 9.2)', () => {
  it('sends the Ping of figures 16 and 17 byte for byte', async () => {
    const r = rig();
    await sendAll(r, [PING]);
    const [size, data] = r.slave.transfers;
    expect(size && bytesToHex(size.tx)).toBe('aaaa000d');
    expect(size && bytesToHex(size.rx)).toBe('aaaa0000');
    expect(data && bytesToHex(data.tx)).toBe(`55550000${bytesToHex(PING)}`);
    expect(data && bytesToHex(data.rx)).toBe(`55550000${'00'.repeat(13)}`);
    expect(r.slave.received.map((f) => bytesToHex(f))).toEqual([bytesToHex(PING)]);
    expect(r.slave.violations).toEqual([]);
    expect(r.t.counters).toMatchObject({ sent: 1, exchanges: 1 });
  });

  it('does nothing while idle: no polling transfers, no timers', async () => {
    const r = rig();
    expect(await r.clock.drive(() => false, 5000)).toBe(false);
    expect(r.slave.transfers).toHaveLength(0);
    expect(r.clock.pending).toBe(0);
  });

  it('reads when TX_PENDING rises, with the size the slave announces', async () => {
    const r = rig();
    const reply = frameOf(20, 1);
    r.slave.queue(reply);
    expect(await r.clock.drive(() => r.got.length === 1)).toBe(true);
    expect(r.got).toEqual([bytesToHex(reply)]);
    const [size, data] = r.slave.transfers;
    expect(size && bytesToHex(size.tx)).toBe('aaaa0000');
    expect(size && bytesToHex(size.rx)).toBe(`aaaa00${reply.length.toString(16)}`);
    expect(data?.tx.length).toBe(4 + reply.length);
    expect(r.slave.txPending.level).toBe(0);
    expect(r.slave.violations).toEqual([]);
  });

  it('uses the larger of both sizes, each side taking only its announced bytes', async () => {
    const r = rig();
    const up = frameOf(2, 2); // 10 bytes
    const down = frameOf(22, 3); // 30 bytes
    r.slave.queue(down);
    await sendAll(r, [up]);
    expect(await r.clock.drive(() => r.got.length === 1)).toBe(true);
    const data = r.slave.transfers.find((x) => x.kind === 'data');
    expect(data?.tx.length).toBe(4 + 30);
    expect(bytesToHex(data?.tx.subarray(4 + 10) ?? new Uint8Array())).toBe('00'.repeat(20));
    expect(r.slave.received.map((f) => bytesToHex(f))).toEqual([bytesToHex(up)]);
    expect(r.got).toEqual([bytesToHex(down)]);
    // And the other way round: the master has more.
    const r2 = rig();
    r2.slave.queue(up);
    await sendAll(r2, [down]);
    expect(await r2.clock.drive(() => r2.got.length === 1)).toBe(true);
    expect(r2.slave.transfers.find((x) => x.kind === 'data')?.rx.length).toBe(4 + 30);
    expect(r2.got).toEqual([bytesToHex(up)]);
    expect(r2.slave.received.map((f) => bytesToHex(f))).toEqual([bytesToHex(down)]);
    expect([...r.slave.violations, ...r2.slave.violations]).toEqual([]);
  });

  it('sends and receives frames back to back, splitting beyond 1500 bytes per exchange', async () => {
    const r = rig();
    const mine = [frameOf(5, 10), frameOf(300, 11), frameOf(3000, 12), frameOf(0, 13)];
    const theirs = [frameOf(7, 20), frameOf(2000, 21), frameOf(1, 22)];
    for (const f of theirs) r.slave.queue(f);
    const res = await sendAll(r, mine);
    expect(res.every((x) => x.status === 'fulfilled')).toBe(true);
    expect(await r.clock.drive(() => r.got.length === theirs.length)).toBe(true);
    expect(r.slave.received.map((f) => bytesToHex(f))).toEqual(mine.map((f) => bytesToHex(f)));
    expect(r.got).toEqual(theirs.map((f) => bytesToHex(f)));
    expect(Math.max(...r.slave.transfers.map((x) => x.tx.length))).toBe(1504);
    expect(kinds(r)).toMatch(/^(sd)+$/);
    expect(r.slave.violations).toEqual([]);
  });

  it('never transfers while RX_READY is low, and waits for it between the two transfers', async () => {
    const r = rig();
    r.slave.hold();
    const p = r.t.send(PING);
    await r.clock.drive(() => false, 500);
    expect(r.slave.transfers).toHaveLength(0);
    r.slave.release();
    let done = false;
    void p.then(() => (done = true));
    expect(await r.clock.drive(() => done)).toBe(true);
    // The slave keeps RX_READY low for 30 µs after each transfer; the data exchange waited.
    const [size, data] = r.slave.transfers;
    expect((data?.at ?? 0) - (size?.at ?? 0)).toBeGreaterThanOrEqual(0.03);
    expect(r.slave.violations).toEqual([]);
  });

  it('takes the link down when RX_READY stays low, and up again when it rises', async () => {
    const r = rig({}, { readyTimeoutMs: 300 });
    r.slave.hold();
    const p = r.t.send(PING);
    await r.clock.drive(() => false, 400);
    expect(r.links).toEqual(['up', 'down:timeout']);
    r.slave.release();
    let done = false;
    void p.then(() => (done = true));
    expect(await r.clock.drive(() => done)).toBe(true);
    expect(r.links).toEqual(['up', 'down:timeout', 'up']);
  });

  it('keeps 20 µs between chip select and the first clock (the slave checks it)', async () => {
    const r = rig();
    await sendAll(r, [PING]);
    expect(r.slave.violations).toEqual([]);
    // The check is real: a master that does not wait is caught.
    const hasty = rig({}, { csDelayUs: 5 });
    await sendAll(hasty, [PING]);
    expect(hasty.slave.violations.some((v) => v.includes('chip-select delay 5.0 µs'))).toBe(true);
  });

  it('detects a lost step and recovers by resetting the module, the unsent frame kept', async () => {
    const r = rig({ selfResync: false }, {}, true);
    await sendAll(r, [PING]);
    r.slave.desync();
    const kept = frameOf(1, 30);
    const res = await sendAll(r, [kept]);
    // No byte of it was clocked out before the lost step showed: it goes after the reset.
    expect(res[0]).toMatchObject({ status: 'fulfilled' });
    expect(r.slave.received.map((f) => bytesToHex(f)).at(-1)).toBe(bytesToHex(kept));
    expect(r.links).toEqual(['up', 'down:outOfSync', 'up']);
    expect(r.slave.resets).toBe(1);
    expect(r.t.counters).toMatchObject({ outOfSync: 1, resets: 1 });
    r.slave.takeViolations();
    const after = frameOf(4, 31);
    await sendAll(r, [after]);
    r.slave.queue(frameOf(4, 32));
    expect(await r.clock.drive(() => r.got.length === 1)).toBe(true);
    expect(r.slave.received.map((f) => bytesToHex(f)).at(-1)).toBe(bytesToHex(after));
    expect(r.slave.violations).toEqual([]);
  });

  it('without a reset line, pauses 200 ms (10.2) and re-synchronises', async () => {
    const r = rig({ selfResync: true });
    r.slave.desync();
    const t0 = r.clock.now();
    const res = await sendAll(r, [PING]);
    expect(res[0]).toMatchObject({ status: 'fulfilled' });
    expect(r.links).toEqual(['up', 'down:outOfSync', 'up']);
    const retry = r.slave.transfers.filter((x) => x.kind === 'size').at(0);
    expect((retry?.at ?? 0) - t0).toBeGreaterThanOrEqual(200);
    expect(r.slave.received.map((f) => bytesToHex(f))).toEqual([bytesToHex(PING)]);
  });

  it('rejects sends while out of sync and after close', async () => {
    const r = rig({ selfResync: false });
    r.slave.desync();
    void r.t.send(PING).catch(() => undefined);
    expect(await r.clock.drive(() => r.links.at(-1) === 'down:outOfSync')).toBe(true);
    await expect(r.t.send(PING)).rejects.toMatchObject({ kind: 'outOfSync' });
    await r.t.close();
    await expect(r.t.send(PING)).rejects.toMatchObject({ kind: 'closed' });
    expect(r.slave.rxReady.watcherCount + r.slave.txPending.watcherCount).toBe(0);
  });

  it('turns a failing SPI transfer into sendFailed and link down, then recovers', async () => {
    const clock = new SteppingClock();
    const slave = new SimSpiSlave(clock);
    let failures = 1;
    const t = spiOnSlave(slave, clock, {
      bus: {
        transfer: (tx) => (failures-- > 0 ? Promise.reject(new Error('EIO')) : slave.bus.transfer(tx)),
      },
    });
    const links: string[] = [];
    t.linkState$.subscribe((s) => links.push(s.up ? 'up' : `down:${s.error?.kind}`));
    let failed: unknown;
    t.send(PING).catch((e: unknown) => (failed = e));
    expect(await clock.drive(() => failed !== undefined)).toBe(true);
    expect(failed).toMatchObject({ kind: 'sendFailed' });
    expect(await clock.drive(() => links.at(-1) === 'up')).toBe(true);
    expect(links).toEqual(['up', 'down:sendFailed', 'up']);
    let sent = false;
    void t.send(PING).then(() => (sent = true));
    expect(await clock.drive(() => sent)).toBe(true);
    expect(slave.received).toHaveLength(1);
  });

  it("works with the SPI driver's own chip select (no GPIO chip select)", async () => {
    const clock = new SteppingClock();
    const slave = new SimSpiSlave(clock, { withChipSelect: false });
    const t = createSpiTransport({ bus: slave.bus, rxReady: slave.rxReady, txPending: slave.txPending, clock });
    const got: string[] = [];
    t.frames$.subscribe((f) => got.push(bytesToHex(f)));
    slave.queue(frameOf(9, 50));
    let sent = false;
    void t.send(PING).then(() => (sent = true));
    expect(await clock.drive(() => sent && got.length === 1)).toBe(true);
    expect(slave.received.map((f) => bytesToHex(f))).toEqual([bytesToHex(PING)]);
    expect(slave.violations).toEqual([]);
  });

  it('parses spidev names', () => {
    expect(parseSpiDeviceName('spidev0.0')).toEqual({ bus: 0, device: 0 });
    expect(parseSpiDeviceName('/dev/spidev1.2')).toEqual({ bus: 1, device: 2 });
    expect(() => parseSpiDeviceName('spi0')).toThrow(/spidev0.0/);
  });
});

describe('SPI hardware wrappers (spi-device, onoff) over fakes backed by the simulated slave', () => {
  function fakes(slave: SimSpiSlave, log: string[]) {
    const lines: Record<number, SimSpiSlave['rxReady']> = { 22: slave.rxReady, 27: slave.txPending, 24: slave.chipSelect };
    class Gpio {
      private readonly line: SimSpiSlave['rxReady'];
      constructor(n: number, direction: string, edge?: string) {
        log.push(`gpio ${n} ${direction} ${edge ?? ''}`.trim());
        const line = lines[n];
        if (!line) throw Object.assign(new Error(`EACCES: gpio ${n}`), { code: 'EACCES' });
        this.line = line;
      }
      read = () => this.line.read();
      write = async (v: 0 | 1) => this.line.write?.(v);
      watch = (cb: (err: Error | null, v: 0 | 1) => void) => void this.line.watch((v) => cb(null, v));
      unwatchAll = () => undefined;
      unexport = () => log.push('unexport');
    }
    const spiDevice = {
      open(bus: number, device: number, opts: { mode?: number; maxSpeedHz?: number }, cb: (e: Error | null) => void) {
        log.push(`spi ${bus}.${device} mode ${opts.mode} ${opts.maxSpeedHz} Hz`);
        queueMicrotask(() => cb(null));
        return {
          transfer(msgs: { sendBuffer?: Buffer; receiveBuffer?: Buffer }[], done: (e: Error | null, m: unknown) => void) {
            const m = msgs[0];
            void slave.bus.transfer(new Uint8Array(m?.sendBuffer ?? [])).then((rx) => {
              m?.receiveBuffer?.set(rx);
              done(null, msgs);
            });
          },
          close: (done: (e: Error | null) => void) => done(null),
        };
      },
    };
    return async (name: string) => (name === 'onoff' ? { default: { Gpio } } : { default: spiDevice });
  }

  it('opens spidev0.0 in mode 0 at 8 MHz with GPIO 22, 27 and 24, and exchanges frames', async () => {
    const clock = new SteppingClock();
    const slave = new SimSpiSlave(clock);
    const log: string[] = [];
    const t = await openSpiTransport({ importer: fakes(slave, log), clock, delayUs: clockDelayUs(clock) });
    expect(log).toEqual(['spi 0.0 mode 0 8000000 Hz', 'gpio 22 in both', 'gpio 27 in both', 'gpio 24 high']);
    const got: string[] = [];
    t.frames$.subscribe((f) => got.push(bytesToHex(f)));
    let sent = false;
    void t.send(PING).then(() => (sent = true));
    expect(await clock.drive(() => sent)).toBe(true);
    slave.queue(frameOf(3, 40));
    expect(await clock.drive(() => got.length === 1)).toBe(true);
    expect(slave.received.map((f) => bytesToHex(f))).toEqual([bytesToHex(PING)]);
    expect(slave.violations).toEqual([]);
    await t.close();
    expect(log.filter((l) => l === 'unexport')).toHaveLength(3);
  });

  it('names what is missing when spi-device or onoff cannot be loaded, and rejects too fast a clock', async () => {
    const missing = (name: string) => Promise.reject(Object.assign(new Error(`Cannot find package '${name}'`), { code: 'ERR_MODULE_NOT_FOUND' }));
    await expect(openSpiTransport({ importer: missing })).rejects.toMatchObject({ kind: 'libraryMissing' });
    await expect(openSpiTransport({ importer: missing })).rejects.toThrow(/spi-device/);
    await expect(openSpiTransport({ speedHz: 20_000_000 })).rejects.toThrow(RangeError);
    const slave = new SimSpiSlave(new SteppingClock());
    const log: string[] = [];
    await expect(openSpiTransport({ importer: fakes(slave, log), rxReadyGpio: 5 })).rejects.toMatchObject({ kind: 'notPermitted' });
  });
});
