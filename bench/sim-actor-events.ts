/**
 * Actor events per simulated session (issue 12 target 4): how many events each host actor
 * takes (XState inspection, `@xstate.event` per receiving actor), and how many macrosteps the
 * simulated modules' own machines run. Load-independent, so it shows before -> after of a
 * change that takes work out of the statecharts, where CPU figures move 2x with the load.
 *
 * The path of bench/sim-hosts.ts (both stations on the simulated pair, virtual clock), with the
 * stations built by `startStation` so that an inspector can be passed; no log, no reporter.
 *
 *   node --import tsx bench/sim-actor-events.ts [default|short]
 */
import type { InspectionEvent } from 'xstate';
import { driveVirtual } from '../app/run-support.js';
import { createHciClient } from '../machines/hci-client.js';
import { type StationHandle, startStation } from '../app/stations.js';
import { benchPair } from './sim-setup.js';

const which = process.argv[2] ?? 'default';
const { clock, evse, ev, pair, frames } = benchPair(which === 'short' ? 94 : undefined);

/** Events per actor, by station and the actor's system ID (or its machine ID, or its source). */
const counts = new Map<string, number>();
const inspectorFor =
  (station: string) =>
  (e: InspectionEvent): void => {
    if (e.type !== '@xstate.event') return;
    const ref = e.actorRef as unknown as { id: string; systemId?: string; logic?: { id?: string } };
    const key = `${station} ${ref.systemId ?? ref.logic?.id ?? ref.id}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  };

const handles: StationHandle[] = [];
let ended = 0;
for (const settings of [evse, ev]) {
  const transport = pair[settings.role === 'EVSE' ? 'evseHost' : 'evHost'];
  const handle = await startStation({ settings, client: createHciClient({ transport, clock }), clock, inspect: inspectorFor(settings.role) });
  handle.onEvent((e) => {
    if (e.type === 'sessionEnded' && ++ended === 2) for (const h of handles) h.shutdown();
  });
  handles.push(handle);
}
await driveVirtual(clock, Promise.all(handles.map((h) => h.done)));
await pair.close();

const rows = [...counts].sort((a, b) => b[1] - a[1]);
const total = rows.reduce((s, [, n]) => s + n, 0);
console.log(`${which} session: ${frames()} HCI frames, ${(clock.now() / 1000).toFixed(0)} s virtual`);
for (const [k, n] of rows) if (n >= 10) console.log(`  ${k.padEnd(40)} ${String(n).padStart(7)}`);
console.log(`  ${'host actor events in all'.padEnd(40)} ${String(total).padStart(7)} (${(total / frames()).toFixed(2)} per frame)`);
