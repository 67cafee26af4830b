/**
 * `--inspect` relays the stations' XState inspection events to inspector viewers (a Stately
 * inspector, or @statelyai/inspect's WebSocket receiver) connected to /inspect, and replays the
 * live actors to a viewer that connects after they started.
 */
import { createWebSocketReceiver } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import { type Dashboard, startDashboard } from '../../app/dashboard.js';

const machine = createMachine({ id: 'plug', initial: 'waiting', states: { waiting: { on: { plug: 'charging' } }, charging: {} } });

interface Seen {
  type?: string;
  name?: string;
  snapshot?: { value?: unknown };
  definition?: unknown;
}

const until = async (ok: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out waiting for inspection events');
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('--inspect inspector relay', () => {
  let dashboard: Dashboard | undefined;
  afterEach(async () => dashboard?.close());

  it('replays live actors to a late viewer, then relays their snapshots', async () => {
    dashboard = await startDashboard(0);
    const inspector = dashboard.inspectorFor('EVSE');
    const actor = createActor(machine, { inspect: inspector.inspect }).start();
    // Let the inspector's socket deliver the registration before the viewer connects.
    await new Promise((r) => setTimeout(r, 300));

    const seen: Seen[] = [];
    createWebSocketReceiver({ server: `ws://127.0.0.1:${dashboard.port}/inspect` }).subscribe((e) => seen.push(e as Seen));
    await until(() => seen.some((e) => e.type === '@xstate.actor'));
    expect(seen.find((e) => e.type === '@xstate.actor')?.definition).toBeTruthy();

    actor.send({ type: 'plug' });
    await until(() => seen.some((e) => e.type === '@xstate.snapshot' && e.snapshot?.value === 'charging'));
    actor.stop();
    inspector.stop();
  });
});
