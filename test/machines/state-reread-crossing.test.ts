/**
 * The re-read of a state (machines/state-reread.ts) against the module's own notifications of it:
 * a read asked before a State Changed and answered after it is older than the notification and
 * must not undo it; a read equal to the one before it still counts once a notification came
 * between the two. The EVSE CP machine watching S2 ([V2G2-847], every S2_REREAD_MS), scripted
 * client, virtual clock.
 */
import { describe, expect, it } from 'vitest';
import type { CommandDef, RequestOf, ResponseOf } from '../../codec/message.js';
import { S2_REREAD_MS, controlPilotEvseMachine } from '../../machines/control-pilot-evse.js';
import type { RequestOptions } from '../../machines/hci-types.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';

/** Get State answered by the test (`answer`) while `hold` is set, at once with `state` otherwise. */
class HeldGetState extends StubHciClient {
  hold = false;
  state = 1;
  private readonly pending: Array<(r: Record<string, unknown>) => void> = [];

  override request<D extends CommandDef>(def: D, fields: RequestOf<D>, options?: RequestOptions): Promise<ResponseOf<D>> {
    if (def.module !== 'ControlPilot' || def.name !== 'GetState') return super.request(def, fields, options);
    this.sent.push({ name: 'ControlPilot.GetState', fields: {}, at: 0 });
    if (!this.hold) return Promise.resolve({ state: this.state } as ResponseOf<D>);
    return new Promise((resolve) => this.pending.push((r) => resolve(r as ResponseOf<D>)));
  }

  /** Answers the held reads with `state`. */
  answer(state: number): void {
    for (const resolve of this.pending.splice(0)) resolve({ state });
  }
  get held(): number {
    return this.pending.length;
  }
}

/** A car plugged in (B), the session at 5 %, the station watching S2. */
async function watching() {
  const clock = new VirtualClock();
  const client = new HeldGetState(clock);
  const h = harness(controlPilotEvseMachine, { client, clock }, clock);
  await flushMicrotasks();
  h.send({ type: 'cp.hlc' });
  h.send({ type: 'cp.watchS2' });
  await flushMicrotasks();
  const s2 = () => h.events().flatMap((e) => (e.type === 'cp.s2' ? [(e as unknown as { closed: boolean }).closed] : []));
  return { clock, client, h, s2 };
}

describe('a CP state re-read crossing a State Changed', () => {
  it('a read asked before State Changed C and answered after it (B) does not undo the C', async () => {
    const { clock, client, s2 } = await watching();
    client.hold = true;
    await advanceBy(clock, S2_REREAD_MS, 10);
    expect(client.held).toBe(1);
    // The car closes S2: the module's notification comes first, the old read's answer after it.
    client.status('ControlPilot.StateChanged', { state: 2 });
    await flushMicrotasks();
    expect(s2()).toEqual([true]);
    client.answer(1);
    await flushMicrotasks();
    expect(s2()).toEqual([true]);
    // The next reads, asked after the notification, say C: nothing new.
    client.hold = false;
    client.state = 2;
    await advanceBy(clock, 3 * S2_REREAD_MS, 10);
    expect(s2()).toEqual([true]);
  });

  it('B read, C notified, B again with its State Changed lost: the second B read is handed on', async () => {
    const { clock, client, s2 } = await watching();
    await advanceBy(clock, S2_REREAD_MS, 10);
    client.status('ControlPilot.StateChanged', { state: 2 });
    await flushMicrotasks();
    expect(s2()).toEqual([true]);
    // The car opens S2 again; that State Changed is lost, the module's state is B as at the first read.
    await advanceBy(clock, 2 * S2_REREAD_MS, 10);
    expect(s2()).toEqual([true, false]);
  });
});
