/**
 * A status is delivered before its traffic record (docs/performance.md, target 1, eighth round):
 * the answer a status$ subscriber sends leaves before the record's subscribers (capture,
 * dashboard, figures) run, and `traffic$` still shows the wire's order: the status, then the
 * frames sent while it was handled. On main the record came first, before the delivery.
 */
import { describe, expect, it } from 'vitest';
import { ControlPilot, encodeResponseFrame, encodeStatusFrame } from '../../codec/catalog.js';
import { parseFrame } from '../../codec/frame.js';
import { createHciClient } from '../../machines/hci-client.js';
import { createMemoryPair } from '../../transports/memory.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';

function rig() {
  const clock = new VirtualClock();
  const [host, mod] = createMemoryPair({ clock });
  const events: string[] = [];
  const transport = new Proxy(host, {
    get(target, key) {
      if (key === 'send') {
        return (frame: Uint8Array) => {
          events.push(`send ${frame[2]?.toString(16)}`);
          return target.send(frame);
        };
      }
      const v: unknown = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const client = createHciClient({ transport, clock });
  mod.frames$.subscribe((bytes) => {
    const r = parseFrame(bytes);
    if ('error' in r) throw new Error(r.error.detail);
    if (r.frame.subId === ControlPilot.GetState.subId) void mod.send(encodeResponseFrame(ControlPilot.GetState, r.frame.reqId, 0, { state: 1 }));
  });
  client.traffic$.subscribe((t) => events.push(`${t.dir} ${t.message?.message ?? 'raw'}`));
  client.onReceive?.(() => events.push('listener'));
  return { clock, client, mod, events };
}

describe('a status before its traffic record', () => {
  it('the answer sent from status$ leaves before the status is recorded; the records keep the wire order', async () => {
    const t = rig();
    t.client.status$.subscribe((e) => {
      t.events.push(`status ${e.message}`);
      void t.client.request(ControlPilot.GetState, {});
      t.client.sendPing?.();
    });
    await t.mod.send(encodeStatusFrame(ControlPilot.StateChanged, { state: 1 }));
    await flushMicrotasks();
    expect(t.events.slice(0, 6)).toEqual([
      // The receive listeners (liveness, commanders) before the status, as before.
      'listener',
      'status StateChanged',
      `send ${ControlPilot.GetState.subId.toString(16)}`,
      'send 0', // the Ping (framing Sub-ID 0x00)
      // Then the status's record and those of the frames sent while it was handled, in order.
      'rx StateChanged',
      'tx GetState',
    ]);
    expect(t.events[6]).toBe('tx Ping');
    // Outside a status's delivery, records are not held: the response is recorded at once.
    expect(t.events.slice(7)).toContain('rx GetState');
    t.client.close();
  });

  it('a client closed while a status is delivered still records the status and what was sent', async () => {
    const t = rig();
    t.client.status$.subscribe(() => {
      t.client.sendPing?.();
      void t.client.close();
    });
    await t.mod.send(encodeStatusFrame(ControlPilot.StateChanged, { state: 1 }));
    await flushMicrotasks();
    expect(t.events.filter((e) => e.startsWith('rx') || e.startsWith('tx'))).toEqual(['rx StateChanged', 'tx Ping']);
  });
});
