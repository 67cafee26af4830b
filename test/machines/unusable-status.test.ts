/**
 * Issue 12 follow-up (layers): the HCI client says, as a typed event, when a status message
 * reached the host but could not be used, and the status watchdog (machines/status-watchdog.ts)
 * listens to that, never to frame bytes. Cases: a status cut inside a field (tolerant decoding
 * rejects it), an unknown status Sub-ID, a status frame that failed its checksum; not a late or
 * malformed command response (the EV module's command Sub-IDs are 0xA0 and up, 18.9).
 */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { V2g, encodeResponseFrame, encodeStatusFrame } from '../../codec/catalog.js';
import { encodeFrame } from '../../codec/frame.js';
import { createHciClient } from '../../machines/hci-client.js';
import type { HciClient, StatusEvent, UnusableStatus } from '../../machines/hci-types.js';
import { UNUSABLE_STATUS_BOUND_MS, statusWatchdog } from '../../machines/status-watchdog.js';
import { createMemoryPair } from '../../transports/memory.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';

const hex = (s: string): Uint8Array => Uint8Array.from(s.trim().split(/\s+/), (b) => parseInt(b, 16));

function setup() {
  const clock = new VirtualClock();
  const [host, mod] = createMemoryPair({ clock });
  const client = createHciClient({ transport: host, clock });
  const unusable: UnusableStatus[] = [];
  const status: StatusEvent[] = [];
  client.unusableStatus$.subscribe((u) => unusable.push(u));
  client.status$.subscribe((e) => status.push(e));
  return { clock, client, mod, unusable, status };
}

describe('HciClient.unusableStatus$', () => {
  it('names a status cut inside a field (module, message, kind), each time it comes', async () => {
    const t = setup();
    // EVSE Session Started cut inside the session ID.
    const cut = encodeFrame({ modId: 0x27, subId: 0x80, reqId: 0xff, payload: hex('01 0a 0b 0c') });
    void t.mod.send(cut);
    void t.mod.send(cut);
    await flushMicrotasks();
    expect(t.status).toEqual([]);
    expect(t.unusable).toEqual([
      { module: 'V2g', kind: 'unusable', message: 'EvseSessionStarted', at: 0 },
      { module: 'V2g', kind: 'unusable', message: 'EvseSessionStarted', at: 0 },
    ]);
  });

  it('names an unknown status Sub-ID and a status frame with a bad checksum as undecodable', async () => {
    const t = setup();
    void t.mod.send(encodeFrame({ modId: 0x27, subId: 0xee, reqId: 0xff, payload: new Uint8Array(0) }));
    const bad = encodeStatusFrame(V2g.EvSessionStopped, {});
    bad[bad.length - 2] = (bad[bad.length - 2] ?? 0) ^ 0xff;
    void t.mod.send(bad);
    await flushMicrotasks();
    expect(t.unusable).toEqual([
      { module: 'V2g', kind: 'undecodable', at: 0 },
      { module: 'V2g', kind: 'undecodable', message: 'EvSessionStopped', at: 0 },
    ]);
  });

  it('is quiet for usable status messages and for command responses nobody waits for', async () => {
    const t = setup();
    void t.mod.send(encodeStatusFrame(V2g.EvSessionStopped, {}));
    // A late answer to a timed-out Stop Charging (0xAD), well formed and cut short.
    void t.mod.send(encodeResponseFrame(V2g.EvStopCharging, 7, 0x11));
    void t.mod.send(encodeFrame({ modId: 0x27, subId: 0xad, reqId: 8, payload: new Uint8Array(0) }));
    await flushMicrotasks();
    expect(t.status.map((e) => e.type)).toEqual(['V2g.EvSessionStopped']);
    expect(t.unusable).toEqual([]);
  });
});

/** The watchdog under a parent that records when it reported, on a client that never shows a byte. */
function watched() {
  const clock = new VirtualClock();
  const unusableStatus$ = new Subject<UnusableStatus>();
  const status$ = new Subject<StatusEvent>();
  // Frames on traffic$ that look like V2G status headers: the watchdog must not read them.
  const traffic$ = new Subject<{ dir: 'tx' | 'rx'; at: number; bytes: Uint8Array }>();
  const client = { status$, traffic$, unusableStatus$ } as unknown as HciClient;
  const reported: number[] = [];
  const parent = createActor(
    createMachine({
      invoke: { src: statusWatchdog, input: { client, clock } },
      on: { 'session.noModuleStatus': { actions: () => reported.push(clock.now()) } },
    }),
  ).start();
  return { clock, unusableStatus$, status$, traffic$, reported, parent };
}

describe('status watchdog on typed events', () => {
  it('an unusable V2G status arms it; the bound later the session hears of it once', async () => {
    const w = watched();
    w.unusableStatus$.next({ module: 'V2g', kind: 'unusable', message: 'EvSessionStopped', at: 0 });
    await w.clock.runUntil(() => false, UNUSABLE_STATUS_BOUND_MS / 2, 100);
    // A second one does not push the bound out.
    w.unusableStatus$.next({ module: 'V2g', kind: 'undecodable', at: w.clock.now() });
    await w.clock.runUntil(() => false, 2 * UNUSABLE_STATUS_BOUND_MS, 100);
    expect(w.reported).toEqual([UNUSABLE_STATUS_BOUND_MS]);
    w.parent.stop();
  });

  it('a usable V2G status disarms it; other modules and raw frames never arm it', async () => {
    const w = watched();
    w.unusableStatus$.next({ module: 'V2g', kind: 'unusable', at: 0 });
    w.status$.next({ type: 'V2g.EvSessionStarted', module: 'V2g', message: 'EvSessionStarted', fields: {} });
    w.unusableStatus$.next({ module: 'Slac', kind: 'undecodable', at: 0 });
    w.traffic$.next({ dir: 'rx', at: 0, bytes: encodeFrame({ modId: 0x27, subId: 0xee, reqId: 0xff, payload: new Uint8Array(0) }) });
    await w.clock.runUntil(() => false, 3 * UNUSABLE_STATUS_BOUND_MS, 100);
    expect(w.reported).toEqual([]);
    w.parent.stop();
  });
});
