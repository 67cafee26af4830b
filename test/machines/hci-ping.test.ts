import { describe, expect, it } from 'vitest';
import { decodeMessage } from '../../codec/catalog.js';
import { encodeFrame, parseFrame } from '../../codec/frame.js';
import { createHciClient, type TrafficRecord } from '../../machines/hci-client.js';
import { FRAMING_MOD_ID, PING_REPLY_SUB_ID, PING_SUB_ID, PingTemplates } from '../../machines/hci-ping.js';
import { createMemoryPair } from '../../transports/memory.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';

/** What the general path records: parse, then decode. */
function decoded(bytes: Uint8Array, direction: 'toModule' | 'toHost') {
  const p = parseFrame(bytes);
  if ('error' in p) return undefined;
  const r = decodeMessage(p.frame, { direction });
  return r.ok ? r.message : undefined;
}

const frame = (subId: number, reqId: number, payload: number[] = []) => encodeFrame({ modId: FRAMING_MOD_ID, subId, reqId, payload: Uint8Array.from(payload) });

describe("Ping templates (the idle host's Ping without the general encode/decode path)", () => {
  const t = new PingTemplates();

  it('gives every request ID the frame and the decoded Ping of the general path, properties in the same order', () => {
    for (let reqId = 0; reqId < 255; reqId++) {
      expect(t.frame(reqId)).toEqual(frame(PING_SUB_ID, reqId));
      const m = t.requestMessage(reqId);
      expect(m).toEqual(decoded(frame(PING_SUB_ID, reqId), 'toModule'));
      expect(JSON.stringify(m)).toBe(JSON.stringify(decoded(frame(PING_SUB_ID, reqId), 'toModule')));
    }
  });

  it('recognises a Ping Reply on its bytes exactly where parseFrame accepts it, and decodes it alike', () => {
    for (let reqId = 0; reqId < 255; reqId++) {
      const reply = frame(PING_REPLY_SUB_ID, reqId);
      expect(t.isReply(reply)).toBe(true);
      expect(JSON.stringify(t.replyMessage(reply))).toBe(JSON.stringify(decoded(reply, 'toHost')));
    }
    const good = frame(PING_REPLY_SUB_ID, 7);
    const notComputed = good.slice();
    notComputed[6] = 0x00;
    expect(t.isReply(notComputed)).toBe('frame' in parseFrame(notComputed));
    const badChecksum = good.slice();
    badChecksum[6] = (badChecksum[6] as number) ^ 0x01;
    const noEnd = good.slice();
    noEnd[7] = 0x00;
    for (const other of [badChecksum, noEnd, frame(PING_SUB_ID, 7), frame(PING_REPLY_SUB_ID, 7, [1, 2]), encodeFrame({ modId: 0x01, subId: 0x01, reqId: 7, payload: new Uint8Array(0) })]) {
      expect(t.isReply(other)).toBe(false);
    }
  });

  it('records a Ping round trip through the client as the general path did (bytes, message, order)', async () => {
    const clock = new VirtualClock();
    const [host, mod] = createMemoryPair({ clock });
    const client = createHciClient({ transport: host, clock });
    const records: TrafficRecord[] = [];
    client.traffic$.subscribe((r) => records.push(r));
    mod.frames$.subscribe((bytes) => void mod.send(frame(PING_REPLY_SUB_ID, bytes[3] as number)));
    for (let i = 0; i < 3; i++) {
      const alive = client.checkAlive?.(1000);
      await flushMicrotasks();
      await expect(alive).resolves.toBeUndefined();
    }
    expect(records.map((r) => r.dir)).toEqual(['tx', 'rx', 'tx', 'rx', 'tx', 'rx']);
    for (const r of records) {
      const general = { dir: r.dir, at: r.at, bytes: r.bytes, message: decoded(r.bytes, r.dir === 'tx' ? 'toModule' : 'toHost') };
      expect(JSON.stringify(r)).toBe(JSON.stringify(general));
      expect(r).toEqual(general);
    }
    expect(records.map((r) => r.message?.reqId)).toEqual([0, 0, 1, 1, 2, 2]);
    await client.close();
  });
});
