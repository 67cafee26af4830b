/**
 * The commander (machines/hci-actors.ts): a session's action sends its command by a call while
 * the action runs (`sendCommand`), in the order of the actions, not as an XState event after the
 * macrostep; `holdCommands` keeps the rest of a macrostep's commands until its deferred sends were
 * delivered; failures and the longest reaction come back as events, as before.
 */
import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createActor, enqueueActions, fromCallback, setup } from 'xstate';
import { V2g } from '../../codec/catalog.js';
import type { CommandDef } from '../../codec/message.js';
import { type CommandRequest, type CommanderEvent, commanderOf, hciChildren, hciCommander, hciStatus, holdCommands, sendCommand } from '../../machines/hci-actors.js';
import { HciError, type HciClient, type StatusEvent } from '../../machines/hci-types.js';
import { VirtualClock } from '../../util/clock.js';

interface Asked {
  name: string;
  resolve(): void;
  reject(e: Error): void;
}

/** A client that records each request and lets the test settle it. */
function fakeClient() {
  const asked: Asked[] = [];
  const traffic$ = new Subject<{ dir: 'tx' | 'rx'; at: number; bytes: Uint8Array }>();
  const client: HciClient = {
    request: ((def: CommandDef) =>
      new Promise<unknown>((resolve, reject) => {
        asked.push({ name: def.name, resolve: () => resolve({}), reject });
      })) as HciClient['request'],
    status$: new Subject<StatusEvent>(),
    traffic$,
    close: () => Promise.resolve(),
  };
  return { client, asked, traffic$ };
}

const req = (def: CommandDef, tag: string, extra: Partial<CommandRequest> = {}): CommandRequest => ({ type: 'hci.send', def, fields: {}, tag, ...extra });

type Ev = { type: 'go' } | { type: 'hold' } | { type: 'seen'; requests: number } | CommanderEvent;

/**
 * A machine with the two HCI children, as the session machines have them; a sibling records how
 * many requests the client had when each deferred event reached it.
 */
function rig() {
  const { client, asked, traffic$ } = fakeClient();
  const clock = new VirtualClock(0);
  const seenBySibling: number[] = [];
  const back: CommanderEvent[] = [];
  const sibling = fromCallback<{ type: 'ping' }>(({ receive }) => {
    receive(() => seenBySibling.push(asked.length));
  });
  const machine = setup({
    types: { context: {} as { client: HciClient; clock: VirtualClock; during: number[] }, events: {} as Ev },
    actors: { hciCommander, hciStatus, sibling },
  }).createMachine({
    context: { client, clock, during: [] },
    invoke: [...hciChildren(['V2g']), { id: 'sibling', src: 'sibling' }],
    on: {
      go: {
        actions: enqueueActions(({ enqueue, self, context }) => {
          enqueue.sendTo('sibling', { type: 'ping' });
          sendCommand(enqueue, self, req(V2g.EvseStartCharging, 'start'));
          sendCommand(enqueue, self, req(V2g.EvseStopCharging, 'stop', { tolerate: [0x11] }));
          enqueue(() => context.during.push(asked.length));
        }),
      },
      hold: {
        actions: enqueueActions(({ enqueue, self, context }) => {
          enqueue.sendTo('sibling', { type: 'ping' });
          holdCommands(enqueue, self);
          sendCommand(enqueue, self, req(V2g.EvseStartCharging, 'start'));
          enqueue(() => context.during.push(asked.length));
        }),
      },
      'hci.failed': { actions: ({ event }) => back.push(event) },
      'hci.reaction': { actions: ({ event }) => back.push(event) },
      'hci.takenUnanswered': { actions: ({ event }) => back.push(event) },
    },
  });
  const actor = createActor(machine).start();
  return { actor, asked, back, seenBySibling, clock, traffic$ };
}

describe('hciCommander', () => {
  it('sends while the action runs, in the order of the actions, before the deferred sends', () => {
    const { actor, asked, seenBySibling } = rig();
    actor.send({ type: 'go' });
    expect(asked.map((a) => a.name)).toEqual(['EvseStartCharging', 'EvseStopCharging']);
    // The action after the two commands saw both asked for; the sibling's event (deferred, sent
    // first in the action) arrived after them.
    expect(actor.getSnapshot().context.during).toEqual([2]);
    expect(seenBySibling).toEqual([2]);
  });

  it('holds the commands after holdCommands until the macrostep has ended', () => {
    const { actor, asked, seenBySibling } = rig();
    actor.send({ type: 'hold' });
    expect(actor.getSnapshot().context.during).toEqual([0]);
    expect(seenBySibling).toEqual([0]);
    expect(asked.map((a) => a.name)).toEqual(['EvseStartCharging']);
    // The next macrostep sends at once again.
    actor.send({ type: 'go' });
    expect(actor.getSnapshot().context.during).toEqual([0, 3]);
  });

  it('reports failures (tolerated or not) and a module that went silent as events to its owner', async () => {
    const { actor, asked, back, clock } = rig();
    actor.send({ type: 'go' });
    asked[0]?.reject(new HciError('result', 'V2g.EvseStartCharging', 'failed', 0x11));
    clock.advance(2000);
    asked[1]?.reject(new HciError('result', 'V2g.EvseStopCharging', 'failed', 0x11));
    await Promise.resolve();
    await Promise.resolve();
    expect(back.map((e) => e.type === 'hci.failed' && [e.tag, e.command, e.tolerated])).toEqual([
      ['start', 'V2g.EvseStartCharging', false],
      ['stop', 'V2g.EvseStopCharging', true],
    ]);
    actor.send({ type: 'go' });
    clock.advance(2000);
    asked[2]?.reject(new HciError('timeout', 'V2g.EvseStartCharging', 'no response'));
    await Promise.resolve();
    await Promise.resolve();
    expect(back[2]).toMatchObject({ type: 'hci.failed', tag: 'start', moduleSilent: true });
  });

  // Fifth round (fuzz seed 200015): a value-setting command whose answer was lost is sent again
  // while the module still talks; a silent module is reported at the first timeout, as before.
  it('sends a command with resendOnTimeout again after a timeout while the module talks, not when it is silent', async () => {
    const { actor, asked, back, clock, traffic$ } = rig();
    const flush = async () => {
      for (let i = 0; i < 4; i++) await Promise.resolve();
    };
    const timeout = () => new HciError('timeout', 'V2g.EvseStartCharging', 'no response');
    commanderOf(actor)?.send(req(V2g.EvseStartCharging, 'duty', { resendOnTimeout: 2 }));
    clock.advance(500);
    traffic$.next({ dir: 'rx', at: clock.now(), bytes: new Uint8Array() });
    clock.advance(500);
    asked[0]?.reject(timeout());
    await flush();
    expect(asked).toHaveLength(2);
    expect(back).toEqual([]);
    asked[1]?.resolve();
    await flush();
    expect(back).toEqual([]);
    // Nothing from the module since it was asked, nor for a second: no resend, the silence goes back.
    commanderOf(actor)?.send(req(V2g.EvseStartCharging, 'duty', { resendOnTimeout: 2 }));
    clock.advance(2000);
    asked[2]?.reject(timeout());
    await flush();
    expect(asked).toHaveLength(3);
    expect(back[0]).toMatchObject({ type: 'hci.failed', tag: 'duty', moduleSilent: true });
  });

  // Eighth round (fuzz seeds 200221 200276): a resend refused 0x11 means an earlier send was
  // taken and its answer lost; the first send refused 0x11 is a failure (the module never waited).
  it('counts a resend refused with a takenIfResendRefused code as answered, not the first send refused so', async () => {
    const { actor, asked, back, clock, traffic$ } = rig();
    const flush = async () => {
      for (let i = 0; i < 4; i++) await Promise.resolve();
    };
    const refused = () => new HciError('result', 'V2g.EvseStartCharging', 'wrong state', 0x11);
    let answered = 0;
    const taking = { resendOnTimeout: 2, takenIfResendRefused: [0x11], onAnswer: () => answered++ };
    commanderOf(actor)?.send(req(V2g.EvseStartCharging, 'startCharging', taking));
    clock.advance(100);
    traffic$.next({ dir: 'rx', at: clock.now(), bytes: new Uint8Array() });
    asked[0]?.reject(new HciError('timeout', 'V2g.EvseStartCharging', 'no response'));
    await flush();
    asked[1]?.reject(refused());
    await flush();
    expect(answered).toBe(1);
    expect(back).toEqual([{ type: 'hci.takenUnanswered', tag: 'startCharging', command: 'V2g.EvseStartCharging', code: 0x11 }]);
    commanderOf(actor)?.send(req(V2g.EvseStartCharging, 'startCharging', taking));
    asked[2]?.reject(refused());
    await flush();
    expect(answered).toBe(1);
    expect(back[1]).toMatchObject({ type: 'hci.failed', tag: 'startCharging', tolerated: false });
  });

  it('reports the longest reaction when it grows', () => {
    const { actor, back } = rig();
    const commander = commanderOf(actor);
    expect(commander).toBeDefined();
    commander?.send(req(V2g.EvseStartCharging, 'start', { answersAt: performance.now() - 5 }));
    commander?.send(req(V2g.EvseStartCharging, 'start', { answersAt: performance.now() }));
    expect(back.filter((e) => e.type === 'hci.reaction')).toHaveLength(1);
  });

  it('forgets the commander when its owner stops, and sends nothing after', () => {
    const { actor, asked } = rig();
    const commander = commanderOf(actor);
    actor.stop();
    expect(commanderOf(actor)).toBeUndefined();
    commander?.send(req(V2g.EvseStartCharging, 'start'));
    expect(asked).toHaveLength(0);
  });

  it('still takes commands as events (a machine whose commander has not started)', () => {
    const { actor, asked } = rig();
    actor.getSnapshot().children.commander?.send(req(V2g.EvseStartCharging, 'start'));
    expect(asked.map((a) => a.name)).toEqual(['EvseStartCharging']);
  });
});
