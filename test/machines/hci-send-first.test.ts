/**
 * The HCI client hands a request frame to the transport before it arms the frame's answer
 * timeout: on the wire the timer (a cold Node `setTimeout`, ~25 µs) no longer delays the frame
 * (docs/performance.md, target 1, seventh round). No transport answers within `send`, so the
 * timer is still armed before any response can arrive.
 */
import { describe, expect, it } from 'vitest';
import { ControlPilot, encodeResponseFrame } from '../../codec/catalog.js';
import { parseFrame } from '../../codec/frame.js';
import { createHciClient } from '../../machines/hci-client.js';
import { createMemoryPair } from '../../transports/memory.js';
import { type TimerId, VirtualClock } from '../../util/clock.js';

class RecordingClock extends VirtualClock {
  constructor(private readonly events: string[]) {
    super();
  }
  override setTimeout(fn: () => void, ms: number): TimerId {
    this.events.push(`timer ${ms}`);
    return super.setTimeout(fn, ms);
  }
}

describe('HCI client request order', () => {
  it('sends the frame, then arms its answer timeout', async () => {
    const events: string[] = [];
    const clock = new RecordingClock(events);
    const [host, mod] = createMemoryPair({ clock });
    const transport = new Proxy(host, {
      get(target, key) {
        if (key === 'send') {
          return (frame: Uint8Array) => {
            events.push('send');
            return target.send(frame);
          };
        }
        const v: unknown = Reflect.get(target, key);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const client = createHciClient({ transport, clock, timeoutMs: 300 });
    mod.frames$.subscribe((bytes) => {
      const r = parseFrame(bytes);
      if ('error' in r) throw new Error(r.error.detail);
      void mod.send(encodeResponseFrame(ControlPilot.GetState, r.frame.reqId, 0, { state: 1 }));
    });
    const before = events.length;
    await expect(client.request(ControlPilot.GetState, {})).resolves.toEqual({ state: 1 });
    expect(events.slice(before, before + 2)).toEqual(['send', 'timer 300']);
    client.close();
  });
});
