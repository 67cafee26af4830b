/**
 * The actors through which machines do HCI I/O (machines themselves never touch the client):
 * - `hciSequence`: runs configuration commands one after the other, reporting each step's log
 *   line before it is sent (the reference prints "Set the CP mode to EVSE" and then sends);
 * - `hciCommander`: a long-lived command sender for session machines: calls (`sendCommand`) or
 *   events in, failures back, so the statechart keeps handling status messages while commands
 *   are in flight;
 * - `hciStatus`: the module's status messages of some modules, as events to the parent.
 */
import { type AnyActorRef, fromCallback } from 'xstate';
import type { CommandDef } from '../codec/message.js';
import { type Clock, hostNow } from '../util/clock.js';
import { HciError, type HciClient, type RequestOptions, type StatusEvent, commandName, onModuleFrame } from './hci-types.js';

/** One command of a sequence; `tolerate` lists result codes that count as success (e.g. 0x05
 * "unexpected message" when stopping something that is not running). */
export interface HciStep {
  text?: string;
  def: CommandDef;
  fields?: unknown;
  tolerate?: readonly number[];
  /** Tolerate any failure (clean-up of stale state). */
  bestEffort?: boolean;
  options?: RequestOptions;
  /** Look at the response; return a string to fail the sequence with it. */
  check?: (response: Record<string, unknown>) => string | undefined;
  /** Name under which the response is kept in the done event. */
  keep?: string;
}

export type SequenceEvent =
  /** A step with a text goes out; `command` (module.name, as in HciError) says which, for actions keyed on it. */
  | { type: 'hci.step'; text: string; command: string }
  | { type: 'hci.tolerated'; command: string; detail: string }
  | { type: 'hci.sequenceDone'; responses: Record<string, Record<string, unknown>> }
  | { type: 'hci.sequenceFailed'; error: HciError | Error };

export interface SequenceInput {
  client: HciClient;
  steps: HciStep[];
}

/**
 * A step that got no answer is sent again this many times: one lost frame on the link must not
 * stop a station at start-up (configuration commands are repeatable). Session commands
 * (`hciCommander`) are not retried unless they ask for it (`CommandRequest.resendOnTimeout`):
 * there a silent module must be noticed within one timeout.
 */
export const SEQUENCE_TIMEOUT_RETRIES = 2;

/** Sends the steps in order; stops at the first failure that is not tolerated. */
export const hciSequence = fromCallback<{ type: 'noop' }, SequenceInput>(({ input, sendBack }) => {
  let cancelled = false;
  const send = (e: SequenceEvent): void => {
    if (!cancelled) sendBack(e);
  };
  void (async () => {
    const responses: Record<string, Record<string, unknown>> = {};
    for (const step of input.steps) {
      if (cancelled) return;
      if (step.text) send({ type: 'hci.step', text: step.text, command: commandName(step.def) });
      try {
        const res = await requestWithRetries(input.client, step);
        const problem = step.check?.(res);
        if (problem) {
          send({ type: 'hci.sequenceFailed', error: new Error(problem) });
          return;
        }
        if (step.keep) responses[step.keep] = res;
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        const tolerated = step.bestEffort || (err instanceof HciError && err.code !== undefined && step.tolerate?.includes(err.code));
        if (!tolerated) {
          send({ type: 'hci.sequenceFailed', error: err });
          return;
        }
        send({ type: 'hci.tolerated', command: commandName(step.def), detail: err.message });
      }
    }
    send({ type: 'hci.sequenceDone', responses });
  })();
  return () => {
    cancelled = true;
  };
});

async function requestWithRetries(client: HciClient, step: HciStep): Promise<Record<string, unknown>> {
  for (let attempt = 0; ; attempt++) {
    try {
      return (await client.request(step.def, step.fields ?? {}, step.options)) as Record<string, unknown>;
    } catch (e) {
      if (!(e instanceof HciError && e.kind === 'timeout') || attempt >= SEQUENCE_TIMEOUT_RETRIES) throw e;
    }
  }
}

export interface CommandRequest {
  type: 'hci.send';
  def: CommandDef;
  fields?: unknown;
  /** Names the purpose, echoed in the result event. */
  tag: string;
  /** Host real time (hostNow) of the status message this command answers (for reaction times). */
  answersAt?: number;
  tolerate?: readonly number[];
  options?: RequestOptions;
  /** Called when the module answers (no event back: charge-loop updates go out 5 times a second). */
  onAnswer?: () => void;
  /**
   * A command that sets a value (a duty cycle, a resistor level) may be sent twice without harm:
   * when its answer times out while the module still talks (`moduleSilent` would be false), it is
   * sent again up to this many times before `hci.failed` goes back. Without it one lost frame left
   * the EVSE's 5 % unsent for good and SLAC never started (fuzz seed 200015, docs/reliability.md
   * "sessions stuck on one lost frame"). A silent module is reported at the first timeout, as before.
   */
  resendOnTimeout?: number;
  /**
   * Result codes that, answering a resend (`resendOnTimeout`), mean an earlier send was taken and
   * only its answer was lost: the command counts as answered (`onAnswer`, `hci.takenUnanswered`
   * back) instead of failed. The first send's refusal is a failure as before (the module was not
   * waiting for it). The EVSE's answers to the module's requests: machines/v2g-evse/lost-answers.ts.
   */
  takenIfResendRefused?: readonly number[];
}

/** What the CP machines give their value-setting commands (`resendOnTimeout`): three tries in all, as a configuration step (SEQUENCE_TIMEOUT_RETRIES). */
export const SET_COMMAND_RESENDS = SEQUENCE_TIMEOUT_RETRIES;

export type CommanderEvent =
  /**
   * A command failed. `moduleSilent`: it timed out and nothing at all came from the module for
   * SILENCE_MS, nor since it was asked for (the module stopped answering, not one lost frame).
   */
  | { type: 'hci.failed'; tag: string; command: string; error: HciError | Error; tolerated: boolean; moduleSilent?: boolean }
  /** A new longest reaction (status message -> answering command sent); only when it grows. */
  | { type: 'hci.reaction'; tag: string; command: string; reactionMs: number }
  /** A resend was refused with a `takenIfResendRefused` code: an earlier send was taken, its answer lost. */
  | { type: 'hci.takenUnanswered'; tag: string; command: string; code: number };

/**
 * A timeout counts as "the module stopped answering" once nothing at all came from it for this
 * long (and since the command was asked for): short per-command timeouts (updates) must not
 * take a quiet moment for a dead module.
 */
export const SILENCE_MS = 1000;

export interface CommanderInput {
  client: HciClient;
  clock: Clock;
  /**
   * The machine that invoked the commander: its actions find the commander by it
   * (`sendCommand`). Without it only the event path (`sendTo('commander', ...)`) reaches it.
   */
  owner?: AnyActorRef;
}

/**
 * The commander's sender, a plain object owned by the `hciCommander` child: a command is a call,
 * not an XState event to the child (issue 12 targets 1 and 4). An event cost the child an actor
 * step per command (relay, mailbox, snapshot update: 8,311 in a default and a short session),
 * and the session's `sendTo` ran only after its whole macrostep (deferred), so the answer to a
 * status message left after the session's snapshot, its other deferred sends and their
 * receivers. A session action that calls `sendCommand` sends the frame while the action runs.
 */
export class Commander {
  private stopped = false;
  private longestReactionMs = -1;
  // Clock time of the last frame from the module (cheap: one number per frame).
  private lastRxAt = Number.NEGATIVE_INFINITY;
  private readonly rx: { unsubscribe(): void };
  /** Commands held until the owner's macrostep has ended (`holdCommands`), in order. */
  private held: CommandRequest[] | undefined;

  constructor(
    private readonly input: CommanderInput,
    private readonly sendBack: (e: CommanderEvent) => void,
  ) {
    const off = onModuleFrame(input.client, (at) => {
      this.lastRxAt = at;
    });
    this.rx = { unsubscribe: off };
  }

  /** Sends whatever the owner asks; a failure comes back as `hci.failed`, a new longest reaction as `hci.reaction`. */
  send(req: CommandRequest): void {
    if (this.stopped) return;
    if (this.held) {
      this.held.push(req);
      return;
    }
    this.transmit(req);
  }

  /**
   * Holds the commands sent from now on until the owner's macrostep has ended (its deferred
   * sends delivered, its snapshot out), then sends them in order: where the macrostep also
   * tells the station something that must be seen first (a phase change).
   */
  hold(): void {
    const owner = this.input.owner;
    if (this.held || this.stopped || !owner) return;
    this.held = [];
    let sub: { unsubscribe(): void } | undefined;
    let done = false;
    const release = (): void => {
      if (done) return;
      done = true;
      sub?.unsubscribe();
      const held = this.held ?? [];
      this.held = undefined;
      for (const req of held) this.send(req);
    };
    sub = owner.subscribe({ next: release, error: release, complete: release });
    // A stopped owner answers at once, before `sub` was set.
    if (done) sub.unsubscribe();
  }

  private transmit(req: CommandRequest): void {
    if (req.answersAt !== undefined) {
      const reactionMs = hostNow() - req.answersAt;
      if (reactionMs > this.longestReactionMs) {
        this.longestReactionMs = reactionMs;
        this.sendBack({ type: 'hci.reaction', tag: req.tag, command: nameOf(req), reactionMs });
      }
    }
    this.request(req, req.resendOnTimeout ?? 0);
  }

  private request(req: CommandRequest, resendsLeft: number): void {
    const askedAt = this.input.clock.now();
    const answer = this.input.client.request(req.def, req.fields ?? {}, req.options);
    const failed = (e: unknown): void => {
      if (resendsLeft > 0 && !this.stopped && e instanceof HciError && e.kind === 'timeout' && !this.silentSince(askedAt)) this.request(req, resendsLeft - 1);
      else {
        const code = this.takenBefore(req, resendsLeft, e);
        if (code !== undefined) this.taken(req, code);
        else this.failed(req, askedAt, e);
      }
    };
    if (req.onAnswer) answer.then(req.onAnswer, failed);
    else answer.catch(failed);
  }

  /** The refusal's code when this send is a resend and the code says an earlier one was taken (`takenIfResendRefused`). */
  private takenBefore(req: CommandRequest, resendsLeft: number, e: unknown): number | undefined {
    const resent = resendsLeft < (req.resendOnTimeout ?? 0);
    if (!resent || !(e instanceof HciError) || e.kind !== 'result' || e.code === undefined) return undefined;
    return req.takenIfResendRefused?.includes(e.code) ? e.code : undefined;
  }

  private taken(req: CommandRequest, code: number): void {
    if (this.stopped) return;
    req.onAnswer?.();
    this.sendBack({ type: 'hci.takenUnanswered', tag: req.tag, command: nameOf(req), code });
  }

  /** Nothing came from the module since `askedAt`, nor for SILENCE_MS. */
  private silentSince(askedAt: number): boolean {
    return this.lastRxAt < askedAt && this.input.clock.now() - this.lastRxAt >= SILENCE_MS;
  }

  stop(): void {
    this.stopped = true;
    this.held = undefined;
    this.rx.unsubscribe();
  }

  private failed(req: CommandRequest, askedAt: number, e: unknown): void {
    if (this.stopped) return;
    const error = e instanceof Error ? e : new Error(String(e));
    const tolerated = error instanceof HciError && error.code !== undefined && (req.tolerate?.includes(error.code) ?? false);
    const silent = this.silentSince(askedAt);
    const moduleSilent = error instanceof HciError && (error.kind === 'closed' || error.kind === 'desync' || (error.kind === 'timeout' && silent));
    this.sendBack({ type: 'hci.failed', tag: req.tag, command: nameOf(req), error, tolerated, ...(moduleSilent ? { moduleSilent } : {}) });
  }
}

// The command's name is built only for an event back (this runs for every charge-loop update).
const nameOf = (req: CommandRequest): string => commandName(req.def);

/** Each running commander by the machine that owns it (weak: a stopped machine is forgotten). */
const commanders = new WeakMap<object, Commander>();

/** The commander the machine `owner` invoked, while it runs. */
export function commanderOf(owner: unknown): Commander | undefined {
  return typeof owner === 'object' && owner !== null ? commanders.get(owner) : undefined;
}

/**
 * A command from outside any action of `owner` (a timer or a status handled in place): its
 * commander sends it at once; an owner whose commander is not a registered object gets the event.
 */
export function commandNow(owner: AnyActorRef, req: CommandRequest): void {
  const commander = commanderOf(owner);
  if (commander) commander.send(req);
  else (owner.getSnapshot() as { children: Record<string, AnyActorRef | undefined> }).children.commander?.send(req);
}

/** The part of XState's `enqueue` that `sendCommand` uses. */
export interface CommandEnqueue {
  (action: () => void): void;
  sendTo(to: string, event: CommandRequest): void;
}

/**
 * A command from an action of `self`: sent by the commander while the action runs, in the order
 * of the actions. Before the commander has started (a machine's first entry actions) or with no
 * commander at all (a machine traversed by @xstate/graph), it goes as an event, as it always did.
 */
export function sendCommand(enqueue: CommandEnqueue, self: AnyActorRef, req: CommandRequest): void {
  const commander = commanderOf(self);
  if (commander) enqueue(() => commander.send(req));
  else enqueue.sendTo('commander', req);
}

/**
 * A phase change (or anything else the station must see before this macrostep's commands): the
 * commands that the following actions send go out once the macrostep has ended, after the
 * station got the event, as they did when every command was an event to the commander. The app
 * counts parameter updates by phase: the EV's first update goes in the macrostep that enters
 * `charging`, after its phase.
 */
export function holdCommands(enqueue: CommandEnqueue, self: AnyActorRef): void {
  const commander = commanderOf(self);
  if (commander) enqueue(() => commander.hold());
}

/**
 * Sends whatever the parent asks: by call (`sendCommand`, `commanderOf`) or by event. Successes
 * are silent (every event back costs the parent a macrostep on the hot path); failures come back
 * as `hci.failed`, and the longest reaction time as `hci.reaction` whenever it grows.
 */
export const hciCommander = fromCallback<CommandRequest, CommanderInput>(({ input, receive, sendBack }) => {
  const commander = new Commander(input, sendBack);
  const { owner } = input;
  if (owner) commanders.set(owner, commander);
  receive((req) => commander.send(req));
  return () => {
    commander.stop();
    if (owner && commanders.get(owner) === commander) commanders.delete(owner);
  };
});

export interface StatusInput {
  client: HciClient;
  modules: readonly string[];
  /**
   * Takes a message without an event to the parent (true): the sessions' charge-loop messages
   * that decide nothing (machines/v2g-evse/parameters.ts, machines/v2g-ev/charge-loop.ts).
   */
  inPlace?: (e: StatusEvent) => boolean;
}

/** Forwards status messages of the given modules to the parent, with their arrival time. */
export const hciStatus = fromCallback<{ type: 'noop' }, StatusInput>(({ input, sendBack }) => {
  const { modules, inPlace } = input;
  const sub = input.client.status$.subscribe((e: StatusEvent) => {
    if (modules.includes(e.module) && !inPlace?.(e)) sendBack(e);
  });
  return () => sub.unsubscribe();
});

/** Result code 0x05 (10.1.5): the module is not in a state to execute the command. */
export const UNEXPECTED_MESSAGE = 0x05;

/** What a machine needs in its context to run the HCI children below. */
interface HciContext {
  client: HciClient;
  clock: Clock;
}

/**
 * The two children every module machine invokes: the status stream of its modules ('status')
 * and the command queue ('commander'). Machines list `hciStatus` and `hciCommander` in their
 * `setup({ actors })` and spread this into `invoke`.
 */
export function hciChildren(modules: StatusInput['modules'], inPlace?: (owner: AnyActorRef) => StatusInput['inPlace']) {
  return [
    {
      id: 'status',
      src: 'hciStatus',
      input: ({ context, self }: { context: HciContext; self: AnyActorRef }): StatusInput => ({ client: context.client, modules, ...(inPlace ? { inPlace: inPlace(self) } : {}) }),
    },
    {
      id: 'commander',
      src: 'hciCommander',
      input: ({ context, self }: { context: HciContext; self: AnyActorRef }) => ({ client: context.client, clock: context.clock, owner: self }),
    },
  ] as const;
}
