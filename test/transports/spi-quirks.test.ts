/**
 * SPI quirks of real WHITE-beet modules (issue 9, item 3): the simulated slave emulates each one
 * and still checks the manual's rules at every transfer (sim/spi-slave.ts); the SPI transport
 * recovers from each without losing a command.
 */
import { describe, expect, it } from 'vitest';
import { bytesToHex, encodeFrame, hexToBytes } from '../../codec/frame.js';
import type { SpiTransportOptions } from '../../transports/spi.js';
import { SimSpiSlave, type SpiRig, type SpiSlaveOptions, SteppingClock, sendAll, spiRig } from '../helpers/spi-slave.js';

// Get Firmware Version (13.3.1) as sent in Sevenstax/FreeV2G#33 and #355, checksum not computed.
const GET_FIRMWARE = hexToBytes('C0 10 41 02 00 00 00 C1');
// Interface Up status exactly as read in Sevenstax/FreeV2G#355.
const INTERFACE_UP = hexToBytes('C0 05 81 FF 00 01 00 F5 C1');
const reply = (n: number, reqId: number): Uint8Array => encodeFrame({ modId: 0x10, subId: 0x41, reqId, payload: Uint8Array.from({ length: n }, (_, i) => (0x30 + i) & 0xff) });

/** A module that answers each frame it gets with `answer(frame)` (when given). */
function rig(slaveOptions: SpiSlaveOptions, options: Partial<SpiTransportOptions> = {}, answer?: (frame: Uint8Array) => Uint8Array): SpiRig {
  const clock = new SteppingClock();
  const slave: SimSpiSlave = new SimSpiSlave(clock, {
    ...slaveOptions,
    ...(answer ? { onFrame: (f: Uint8Array) => slave.queue(answer(f)) } : {}),
  });
  return spiRig(clock, slave, options);
}

const send = async (r: SpiRig, frame: Uint8Array): Promise<PromiseSettledResult<void>> => (await sendAll(r, [frame]))[0] as PromiseSettledResult<void>;
const hexes = (frames: Uint8Array[]): string[] => frames.map((f) => bytesToHex(f));

describe('SPI quirks of real modules', () => {
  it('clocks the larger of both sizes when both sides have something, every exchange (Sevenstax/FreeV2G#33)', async () => {
    // Each command meets a status the module has waiting, shorter or longer than the command.
    const r = rig({});
    const statuses = [2, 40, 0, 17].map((n) => reply(n, 0xff));
    const commands = [1, 2, 3, 4].map((reqId) => encodeFrame({ modId: 0x10, subId: 0x41, reqId, payload: new Uint8Array(reqId * 6) }));
    for (const [i, c] of commands.entries()) {
      r.slave.queue(statuses[i] as Uint8Array);
      expect((await send(r, c)).status).toBe('fulfilled');
    }
    expect(await r.clock.drive(() => r.got.length === 4)).toBe(true);
    const t = r.slave.transfers;
    for (let i = 0; i < t.length; i += 2) {
      const [size, data] = [t[i], t[i + 1]];
      const larger = Math.max(((size?.tx[2] ?? 0) << 8) | (size?.tx[3] ?? 0), ((size?.rx[2] ?? 0) << 8) | (size?.rx[3] ?? 0));
      expect(data?.tx.length).toBe(4 + larger);
    }
    // Both sides had something in the same exchange, the larger being each side in turn.
    const both = t.filter((x) => x.kind === 'size' && (x.tx[3] ?? 0) > 0 && (x.rx[3] ?? 0) > 0);
    expect(both.some((x) => (x.tx[3] ?? 0) > (x.rx[3] ?? 0))).toBe(true);
    expect(both.some((x) => (x.tx[3] ?? 0) < (x.rx[3] ?? 0))).toBe(true);
    expect(both).toHaveLength(4);
    expect(hexes(r.slave.received)).toEqual(hexes(commands));
    expect(r.got).toEqual(hexes(statuses));
    expect(r.slave.violations).toEqual([]);
  });

  it('gives a module needing 40 µs after chip select its time, and lengthens a shorter delay (Sevenstax/FreeV2G#33)', async () => {
    const slow = rig({ minCsDelayUs: 40 });
    expect((await send(slow, GET_FIRMWARE)).status).toBe('fulfilled');
    expect(slow.slave.quirkHits.ignored).toBe(0);
    // A host set to the manual's 20 µs reads zeros; it lengthens the delay and the command goes.
    const hasty = rig({ minCsDelayUs: 40 }, { csDelayUs: 20 });
    expect((await send(hasty, GET_FIRMWARE)).status).toBe('fulfilled');
    expect(hasty.slave.quirkHits.ignored).toBe(1);
    expect(hasty.t.counters.csDelayUs).toBe(40);
    expect(hasty.links).toEqual(['up', 'down:outOfSync', 'up']);
    expect(hexes(hasty.slave.received)).toEqual(hexes([GET_FIRMWARE]));
    expect(hasty.slave.violations).toEqual([]);
  });

  it('resynchronises after a size frame answered with 55 55, sending the command after (Sevenstax/FreeV2G#331)', async () => {
    const r = rig({}, {}, (f) => reply(9, f[3] as number));
    r.slave.desync();
    expect((await send(r, GET_FIRMWARE)).status).toBe('fulfilled');
    const bad = r.slave.transfers[0];
    expect(bad && bytesToHex(bad.rx.subarray(0, 2))).toBe('5555');
    expect(await r.clock.drive(() => r.got.length === 1)).toBe(true);
    expect(hexes(r.slave.received)).toEqual(hexes([GET_FIRMWARE]));
    expect(r.got).toEqual([bytesToHex(reply(9, 0x02))]);
    expect(r.t.counters.outOfSync).toBe(1);
    // The slave saw the size frame in its data phase: that one breach, nothing after.
    expect(r.slave.takeViolations()).toHaveLength(1);
  });

  it('drops the filler of an idle module echoing our size, and still reads a real frame of that size (Sevenstax/FreeV2G#185)', async () => {
    const r = rig({ echoSize: true });
    expect((await send(r, GET_FIRMWARE)).status).toBe('fulfilled');
    const size = r.slave.transfers[0];
    expect(size && bytesToHex(size.rx)).toBe('aaaa0008');
    expect(r.slave.quirkHits.echoed).toBe(1);
    expect(r.t.counters).toMatchObject({ echoes: 1, framingErrors: 0, received: 0 });
    // TX_PENDING high: the same size is real data this time.
    const same = reply(0, 7);
    r.slave.queue(same);
    expect((await send(r, GET_FIRMWARE)).status).toBe('fulfilled');
    expect(await r.clock.drive(() => r.got.length === 1)).toBe(true);
    expect(r.got).toEqual([bytesToHex(same)]);
    expect(hexes(r.slave.received)).toEqual(hexes([GET_FIRMWARE, GET_FIRMWARE]));
    expect(r.t.counters.framingErrors).toBe(0);
    expect(r.slave.violations).toEqual([]);
  });

  it('drops the stale Interface Up read in place of a response and reads on to the response (Sevenstax/FreeV2G#355)', async () => {
    const r = rig({ staleInterfaceUp: 2 }, {}, (f) => reply(9, f[3] as number));
    r.slave.queue(INTERFACE_UP);
    expect(await r.clock.drive(() => r.got.length === 1)).toBe(true);
    expect((await send(r, GET_FIRMWARE)).status).toBe('fulfilled');
    expect(await r.clock.drive(() => r.got.length === 2)).toBe(true);
    expect(r.got).toEqual([bytesToHex(INTERFACE_UP), bytesToHex(reply(9, 0x02))]);
    expect(r.slave.quirkHits.stale).toBe(2);
    expect(r.t.counters).toMatchObject({ staleRepeats: 2, received: 2 });
    // A new Interface Up after TX_PENDING fell is news, not a stale read.
    await r.clock.drive(() => r.slave.txPending.level === 0);
    r.slave.queue(INTERFACE_UP);
    expect(await r.clock.drive(() => r.got.length === 3)).toBe(true);
    expect(r.slave.violations).toEqual([]);
  });
});
