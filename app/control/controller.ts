/**
 * The control and telemetry seam between the running stations and whatever drives them from
 * outside (MQTT, HTTP, the dashboard, an OCPP backend): one typed command set with replies, one
 * stream of state changes, events and session records per station, and external authorization
 * with a fallback to the configured policy. Transports of the API (app/control/mqtt.ts,
 * http.ts) only translate; every rule lives here, so they all behave alike.
 *
 * Commands are idempotent: stopping a station that is not charging, disabling a disabled one or
 * repeating an authorization decision answers ok and says so. Nothing here can raise the
 * charger's output: stop and disable go through the station's own safe stop path.
 */
import * as z from 'zod';
import { type AuthorizationPolicy, type AuthorizationRequest, decideStatically } from '../../machines/authorization-policy.js';
import type { SessionRecord, StationEmitted, StationRole } from '../../machines/station-events.js';
import type { Clock, TimerId } from '../../util/clock.js';
import type { StationHandle } from '../stations.js';

/** What a station looks like from outside; published retained over MQTT, served over HTTP. */
export interface StationState {
  id: string;
  role: StationRole;
  online: boolean;
  available: boolean;
  phase?: string;
  /** Active states of the Control Pilot and SLAC machines ("connected", "matching", ...). */
  cp?: string;
  slac?: string;
  voltageV: number;
  currentA: number;
  powerW: number;
  socPercent?: number;
  energyWh: number;
  /** Limits set at run time (undefined: the configured ones). */
  limits: { maxPowerW?: number; maxCurrentA?: number };
  /** A vehicle waiting for an external authorization decision. */
  pendingAuthorization?: { evccId: string; emaid?: string; expiresAt: number };
  sessions: number;
}

export type ControlEvent =
  | { kind: 'state'; station: string; state: StationState; changed: ReadonlyArray<keyof StationState> }
  | { kind: 'event'; station: string; event: Exclude<StationEmitted, { type: 'sample' } | { type: 'sessionEnded' }> }
  | { kind: 'record'; station: string; record: SessionRecord };

const limitValue = z.number().finite().positive().max(1_000_000);
/** Every command of the API, validated the same way whatever carried it. */
export const commandSchema = z.discriminatedUnion('command', [
  z.object({ command: z.literal('stop') }).strict(),
  z.object({ command: z.literal('enable') }).strict(),
  z.object({ command: z.literal('disable') }).strict(),
  z
    .object({ command: z.literal('setLimits'), maxPowerW: limitValue.optional(), maxCurrentA: limitValue.optional() })
    .strict()
    .refine((c) => c.maxPowerW !== undefined || c.maxCurrentA !== undefined, 'setLimits needs maxPowerW and/or maxCurrentA'),
  z.object({ command: z.literal('authorize'), accept: z.boolean(), evccId: z.string().optional() }).strict(),
]);
export type Command = z.infer<typeof commandSchema>;
export const COMMAND_NAMES = ['stop', 'enable', 'disable', 'setLimits', 'authorize'] as const;

export interface CommandReply {
  ok: boolean;
  station: string;
  command: string;
  message: string;
}

interface Pending {
  evccId: string;
  resolve(accepted: boolean): void;
}

interface Entry {
  handle: StationHandle;
  state: StationState;
  pending?: Pending;
}

export interface ControllerOptions {
  clock: Clock;
  /**
   * How long before the module's authorization timeout an external decision must have come;
   * then the configured policy decides (the module needs the answer before its own deadline).
   */
  authorizationMarginMs?: number;
}

export class StationController {
  private readonly stations = new Map<string, Entry>();
  private readonly listeners = new Set<(ev: ControlEvent) => void>();
  private readonly clock: Clock;
  private readonly marginMs: number;

  constructor(options: ControllerOptions) {
    this.clock = options.clock;
    this.marginMs = options.authorizationMarginMs ?? 1000;
  }

  /** Topic- and URL-safe station id from the run's key: "EVSE" -> "evse", "EVSE 00:01:..:33" -> "evse-000101..33". */
  static idOf(key: string): string {
    return key
      .toLowerCase()
      .replace(/:/g, '')
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '');
  }

  ids(): string[] {
    return [...this.stations.keys()];
  }

  state(id: string): StationState | undefined {
    return this.stations.get(id)?.state;
  }

  states(): StationState[] {
    return [...this.stations.values()].map((e) => e.state);
  }

  /** Listens to every station's changes; returns the function that stops listening. */
  observe(fn: (ev: ControlEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Registers a started station; its events must then be passed to `onStationEvent`. */
  addStation(id: string, role: StationRole, handle: StationHandle): void {
    const state: StationState = { id, role, online: true, available: true, voltageV: 0, currentA: 0, powerW: 0, energyWh: 0, limits: {}, sessions: 0 };
    this.stations.set(id, { handle, state });
    void handle.done.then(() => this.update(id, { online: false, voltageV: 0, currentA: 0, powerW: 0 }));
    this.emit({ kind: 'state', station: id, state, changed: Object.keys(state) as Array<keyof StationState> });
  }

  onStationEvent(id: string, ev: StationEmitted): void {
    const entry = this.stations.get(id);
    if (!entry) return;
    switch (ev.type) {
      case 'sample':
        this.update(id, { voltageV: ev.voltageV, currentA: ev.currentA, powerW: ev.powerW, energyWh: ev.energyWh, ...(ev.socPercent !== undefined ? { socPercent: ev.socPercent } : {}) });
        return;
      case 'phase':
        this.update(id, { phase: ev.phase, ...this.childStates(entry.handle) });
        break;
      case 'sessionEnded':
        this.update(id, { sessions: entry.state.sessions + 1, voltageV: 0, currentA: 0, powerW: 0 });
        this.emit({ kind: 'record', station: id, record: ev.record });
        return;
      default:
        break;
    }
    this.emit({ kind: 'event', station: id, event: ev });
  }

  /** Runs one command (already parsed or raw JSON-like input) and says what happened. */
  execute(id: string, input: unknown): CommandReply {
    const parsed = commandSchema.safeParse(input);
    const name = typeof input === 'object' && input !== null && 'command' in input ? String((input as { command: unknown }).command) : '?';
    const reply = (ok: boolean, message: string): CommandReply => ({ ok, station: id, command: name, message });
    const entry = this.stations.get(id);
    if (!entry) return reply(false, `no station "${id}" (stations: ${this.ids().join(', ') || 'none'})`);
    if (!parsed.success) return reply(false, parsed.error.issues.map((i) => `${i.path.join('.') || 'command'}: ${i.message}`).join('; '));
    const cmd = parsed.data;
    const { state, handle } = entry;
    if (!state.online) return reply(false, 'the station has stopped');
    if (state.role !== 'EVSE' && cmd.command !== 'stop') return reply(false, `${cmd.command} applies to EVSE stations only`);
    switch (cmd.command) {
      case 'stop': {
        if (state.phase !== 'charging' && state.phase !== 'preCharge' && state.phase !== 'cableCheck' && state.phase !== 'chargeParameterDiscovery' && state.phase !== 'authorization') {
          return reply(true, 'no charging in progress');
        }
        entry.pending?.resolve(false);
        handle.send({ type: 'stopCharging' });
        return reply(true, 'stopping the charging in progress');
      }
      case 'disable':
        if (!state.available) return reply(true, 'already disabled');
        entry.pending?.resolve(false);
        handle.send({ type: 'station.disable' });
        this.update(id, { available: false });
        return reply(true, 'disabled: the charging in progress stops, no new session starts');
      case 'enable':
        if (state.available) return reply(true, 'already enabled');
        handle.send({ type: 'station.enable' });
        this.update(id, { available: true });
        return reply(true, 'enabled');
      case 'setLimits': {
        const limits = { ...state.limits, ...(cmd.maxPowerW !== undefined ? { maxPowerW: cmd.maxPowerW } : {}), ...(cmd.maxCurrentA !== undefined ? { maxCurrentA: cmd.maxCurrentA } : {}) };
        this.applyLimits(id, limits);
        return reply(true, `limits set: ${describeLimits(limits)}`);
      }
      case 'authorize': {
        const p = entry.pending;
        if (!p) return reply(true, 'no authorization pending');
        if (cmd.evccId !== undefined && normaliseId(cmd.evccId) !== normaliseId(p.evccId)) return reply(false, `the pending vehicle is ${p.evccId}, not ${cmd.evccId}`);
        p.resolve(cmd.accept);
        return reply(true, `${cmd.accept ? 'accepted' : 'rejected'} ${p.evccId}`);
      }
    }
  }

  /**
   * Replaces the station's run-time limits (empty: back to the configured ones). For the
   * backend's smart charging, which computes the whole limit itself; commands merge instead.
   */
  applyLimits(id: string, limits: StationState['limits']): void {
    const entry = this.stations.get(id);
    if (entry?.state.role !== 'EVSE') return;
    entry.handle.send({ type: 'setLimits', ...limits });
    this.update(id, { limits });
  }

  /**
   * An authorization callback for station `id` that waits for an `authorize` command and falls
   * back to `fallback` (the configured policy) when none came `authorizationMarginMs` before the
   * module's own timeout. Pass it as the station's `ask`.
   */
  authorizer(id: string, fallback: AuthorizationPolicy): (req: AuthorizationRequest & { emaid?: string }) => Promise<boolean> {
    return (req) =>
      new Promise<boolean>((resolve) => {
        const entry = this.stations.get(id);
        const decideByPolicy = (): boolean => (fallback.mode === 'interactive' ? false : decideStatically(fallback, req.evccId));
        if (!entry) return resolve(decideByPolicy());
        const waitMs = Math.max(0, req.timeoutMs - this.marginMs);
        let timer: TimerId | undefined;
        const finish = (accepted: boolean): void => {
          if (entry.pending !== pending) return;
          entry.pending = undefined;
          if (timer !== undefined) this.clock.clearTimeout(timer);
          req.signal.removeEventListener('abort', onAbort);
          this.update(id, { pendingAuthorization: undefined });
          resolve(accepted);
        };
        const onAbort = (): void => finish(false);
        const pending: Pending = { evccId: req.evccId, resolve: finish };
        entry.pending?.resolve(false);
        entry.pending = pending;
        timer = this.clock.setTimeout(() => finish(decideByPolicy()), waitMs);
        req.signal.addEventListener('abort', onAbort);
        this.update(id, { pendingAuthorization: { evccId: req.evccId, ...(req.emaid ? { emaid: req.emaid } : {}), expiresAt: this.clock.now() + waitMs } });
      });
  }

  private childStates(handle: StationHandle): Pick<StationState, 'cp' | 'slac'> {
    const cp = handle.childStates('cp')?.join(',');
    const slac = handle.childStates('slac')?.join(',');
    return { ...(cp !== undefined ? { cp } : {}), ...(slac !== undefined ? { slac } : {}) };
  }

  private update(id: string, patch: Partial<StationState>): void {
    const entry = this.stations.get(id);
    if (!entry) return;
    const changed: Array<keyof StationState> = [];
    const next = { ...entry.state };
    for (const key of Object.keys(patch) as Array<keyof StationState>) {
      const value = patch[key];
      if (JSON.stringify(next[key]) === JSON.stringify(value)) continue;
      changed.push(key);
      if (value === undefined) delete next[key];
      else (next as Record<string, unknown>)[key] = value;
    }
    if (changed.length === 0) return;
    entry.state = next;
    this.emit({ kind: 'state', station: id, state: next, changed });
  }

  private emit(ev: ControlEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(ev);
      } catch {
        // A failing listener (a broker gone, a closed socket) must not touch the stations.
      }
    }
  }
}

const normaliseId = (id: string): string => id.replace(/[^0-9a-z]/gi, '').toLowerCase();

function describeLimits(l: StationState['limits']): string {
  return [l.maxPowerW !== undefined ? `max ${l.maxPowerW} W` : '', l.maxCurrentA !== undefined ? `max ${l.maxCurrentA} A` : ''].filter(Boolean).join(', ');
}
