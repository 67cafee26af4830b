/**
 * Test helpers for the machines: a scripted HCI client (no bytes, virtual clock) and a parent
 * harness that runs a child machine and records everything it sends to its parent.
 */
import { Subject } from 'rxjs';
import { type AnyActorLogic, type AnyEventObject, assign, createActor, setup } from 'xstate';
import { EVSE_STATION_SYSTEM_ID } from '../../machines/v2g-evse-session.js';
import type { CommandDef, RequestOf, ResponseOf } from '../../codec/message.js';
import { HciError, type HciClient, type RequestOptions, type StatusEvent, type UnusableStatus } from '../../machines/hci-types.js';
import { type VirtualClock, flushMicrotasks } from '../../util/clock.js';

export interface SentCommand {
  name: string;
  fields: Record<string, unknown>;
  at: number;
}

export type Responder = (cmd: SentCommand) => Record<string, unknown> | number | undefined;

export class StubHciClient implements HciClient {
  readonly status$ = new Subject<StatusEvent>();
  readonly traffic$ = new Subject<never>();
  readonly unusableStatus$ = new Subject<UnusableStatus>();
  readonly sent: SentCommand[] = [];
  /** Per "Module.Name": a response (fields) or a result code number to fail with. */
  responders = new Map<string, Responder>();

  constructor(private readonly clock: VirtualClock) {}

  respond(name: string, r: Responder | Record<string, unknown> | number): this {
    this.responders.set(name, typeof r === 'function' ? r : () => r);
    return this;
  }

  request<D extends CommandDef>(def: D, fields: RequestOf<D>, _options?: RequestOptions): Promise<ResponseOf<D>> {
    const name = `${def.module}.${def.name}`;
    const cmd = { name, fields: fields as Record<string, unknown>, at: this.clock.now() };
    this.sent.push(cmd);
    const r = this.responders.get(name)?.(cmd);
    if (typeof r === 'number') return Promise.reject(new HciError('result', name, `${name} failed: code ${r}`, r));
    return Promise.resolve((r ?? {}) as ResponseOf<D>);
  }

  /** Delivers a status message as the module would. */
  status(type: `${StatusEvent['module']}.${string}`, fields: Record<string, unknown> = {}): void {
    const [module, message] = type.split('.') as [StatusEvent['module'], string];
    this.status$.next({ type, module, message, fields, at: this.clock.now() });
  }

  /** A status message that arrived but could not be used (the status watchdog's case). */
  unusable(message: string, module: StatusEvent['module'] = 'V2g'): void {
    this.unusableStatus$.next({ module, kind: 'unusable', message, at: this.clock.now() });
  }

  names(): string[] {
    return this.sent.map((c) => c.name);
  }

  async close(): Promise<void> {}
}

export interface Sibling {
  systemId: string;
  logic: AnyActorLogic;
  input: unknown;
}

/**
 * Runs `logic` as the child 'child' of a parent that records every event it receives; siblings
 * (e.g. the charger, systemId 'charger') run next to it.
 */
export function harness(logic: AnyActorLogic, input: unknown, clock: VirtualClock, siblings: Sibling[] = []) {
  const parent = setup({
    types: { context: {} as { events: AnyEventObject[] } },
    actors: { child: logic, ...Object.fromEntries(siblings.map((x) => [x.systemId, x.logic])) } as Record<string, AnyActorLogic>,
  }).createMachine({
    context: { events: [] },
    invoke: [
      ...siblings.map((x) => ({ id: x.systemId, src: x.systemId, systemId: x.systemId, input: () => x.input as never })),
      { id: 'child', src: 'child', systemId: 'child', input: () => input as never },
    ],
    on: { '*': { actions: assign({ events: ({ context, event }) => [...context.events, event] }) } },
  });
  // The parent stands in for the station: the EVSE session reports to it by this system ID.
  const actor = createActor(parent, { clock, systemId: EVSE_STATION_SYSTEM_ID });
  actor.start();
  return {
    actor,
    events: () => actor.getSnapshot().context.events,
    types: () => actor.getSnapshot().context.events.map((e) => e.type),
    logs: () =>
      actor
        .getSnapshot()
        .context.events.filter((e) => e.type === 'station.emit' && (e as unknown as { event: { type: string } }).event.type === 'log')
        .map((e) => (e as unknown as { event: { text: string } }).event.text),
    child: () => actor.getSnapshot().children.child,
    system: actor.system,
    send: (e: AnyEventObject) => actor.getSnapshot().children.child?.send(e),
  };
}

/** Moves virtual time forward by exactly `ms`, firing timers in order and letting promises settle between them. */
export async function advanceBy(clock: VirtualClock, ms: number, stepMs = 50): Promise<void> {
  const end = clock.now() + ms;
  await clock.runUntil(() => clock.now() >= end, ms, stepMs);
  await flushMicrotasks();
}

/**
 * `client` with the answers to the command `name` (e.g. 'EvStartSession') lost on the way back,
 * the first `count` of them (default all): the command reaches the module, the host sees a
 * timeout after 1000 ms (virtual time).
 */
export function answersLost(client: HciClient, clock: VirtualClock, name: string, count = Number.POSITIVE_INFINITY): HciClient {
  let lost = 0;
  const request: HciClient['request'] = (def, fields, options) => {
    const sent = client.request(def, fields, options);
    if (def.name !== name || lost >= count) return sent;
    lost++;
    sent.catch(() => undefined);
    const what = `${def.module}.${def.name}`;
    return new Promise((_, reject) => clock.setTimeout(() => reject(new HciError('timeout', what, `${what}: no response within 1000 ms`)), 1000));
  };
  return Object.assign(Object.create(client) as HciClient, { request });
}
