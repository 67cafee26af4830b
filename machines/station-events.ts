/**
 * What the stations tell the outside world (CLI, dashboard, logs) through XState `emit`.
 * Subscribe with `actor.on('*', fn)` or `actor.on('log', fn)`. These events carry presentation
 * data only; control goes the other way as events sent to the station (`shutdown`, ...).
 */

export type StationRole = 'EVSE' | 'EV';

/** Coarse session phases, for dashboards and logs (one `phase` event on every change). */
export const SESSION_PHASES = [
  'initialising',
  'waitingForVehicle',
  'slac',
  'v2gSetup',
  'sessionStarted',
  'authorization',
  'chargeParameterDiscovery',
  'cableCheck',
  'preCharge',
  'charging',
  'stoppingCharging',
  'postCharge',
  'sessionStopped',
  /** The EV paused the session (18.12.13 closure type 1): output 0, waiting for it to resume. */
  'paused',
  /** The module set-up failed: output 0, waiting to set it up again (machines/setup-retry.ts). */
  'setUpRetry',
  'error',
  'shuttingDown',
  'stopped',
] as const;
export type SessionPhase = (typeof SESSION_PHASES)[number];

/** One schedule entry as sent (EVSE) or received (EV): start and interval in seconds, power in W. */
export interface ScheduleEntry {
  startS: number;
  intervalS: number;
  powerW: number;
}

export interface ScheduleTuple {
  scheduleTupleId: number;
  entries: ScheduleEntry[];
}

/** Everything worth keeping about one charging session, emitted once when it ends. */
export interface SessionRecord {
  station: StationRole;
  /** Clock times (ms, on the injected clock). */
  startedAt: number;
  endedAt: number;
  /** EVCC ID (EV MAC) as hex; on the EV side its own ID. */
  evccId?: string;
  /** EVSE ID as seen by the EV (EV side) or configured (EVSE side). */
  evseId?: string;
  /** Negotiated protocol name, e.g. 'ISO15118-2' or 'DIN70121'. */
  protocol?: string;
  energyTransferMode?: string;
  energyDeliveredWh: number;
  peakVoltageV: number;
  peakCurrentA: number;
  schedule?: ScheduleTuple[];
  /** Why the session ended normally ('evStopped', 'targetSocReached', 'closure', 'shutdown', ...). */
  stopReason?: string;
  /** Set when it ended on an error: code and name (session error, HCI error, timeout...). */
  error?: { code?: number; name: string; detail?: string };
  /** Longest gap between two parameter updates the host sent while energy flowed (ms, host real time: util/clock.ts hostNow). */
  longestUpdateGapMs: number;
  /**
   * EVSE: the least left of the module's update deadline at any parameter update (session clock,
   * ms; machines/update-slack.ts). Absent before the second update.
   */
  shortestUpdateSlackMs?: number;
  /** Longest time from a status message to the host's answering command (ms, host real time). */
  longestReactionMs: number;
  socStartPercent?: number;
  socEndPercent?: number;
  /** EVSE: 'EIM' or 'PnC' (Payment Selected). */
  paymentMethod?: string;
  /** EVSE, Plug & Charge: the EV's contract (EMAID, certificates base64 DER leaf first). */
  contract?: { emaid: string; certificateChain: string[] };
  /** EVSE: the last certificate installation/update request and how it was answered. */
  certificateService?: { kind: 'installation' | 'update'; outcome: 'success' | 'timeout' | 'certificateInvalid' };
  /** Renegotiations during the session (EVSE side; absent when none). */
  renegotiations?: number;
  /**
   * EVSE: the car closed S2 (CP state C/D) this long after Start Charging Requested, later than
   * ISO 15118-2 [V2G2-847]'s 250 ms (absent when in time; never: stop reason `evDidNotCloseS2`).
   */
  lateStateCMs?: number;
  /** Closure type of the module's Session Stopped (EVSE side, 18.12.13): 'pause' keeps it resumable. */
  closure?: 'terminate' | 'pause';
  /** The V2G Session ID (Session Started, 18.11.1 / 18.12.1) in hex; a resumed session keeps it. */
  sessionId?: string;
  /** This session resumed a paused one: its Session Started carried the paused session's ID. */
  resumed?: boolean;
}

export interface LogEvent {
  type: 'log';
  station: StationRole;
  /** One console line, in the reference application's words where it has them. */
  text: string;
  level?: 'info' | 'warn' | 'error';
  data?: Record<string, unknown>;
}

export interface PhaseEvent {
  type: 'phase';
  station: StationRole;
  phase: SessionPhase;
}

export interface SampleEvent {
  type: 'sample';
  station: StationRole;
  at: number;
  voltageV: number;
  currentA: number;
  powerW: number;
  socPercent?: number;
  energyWh: number;
}

/**
 * The module asks whether the EV may charge (EVSE side). Sent for presentation; the decision is
 * made by the authorization policy actor (which may itself ask the app interactively).
 */
export interface AuthorizationEvent {
  type: 'authorization';
  station: 'EVSE';
  evccId: string;
  /** Plug & Charge: the contract's EMAID. */
  emaid?: string;
  timeoutMs: number;
  /** The policy's answer once known (undefined while pending). */
  accepted?: boolean;
}

export interface SessionEndedEvent {
  type: 'sessionEnded';
  station: StationRole;
  record: SessionRecord;
}

export type StationEmitted = LogEvent | PhaseEvent | SampleEvent | AuthorizationEvent | SessionEndedEvent;

/** How child machines hand an event to their station, which re-emits it (XState `emit` is per actor). */
export interface ChildEmit {
  type: 'station.emit';
  event: StationEmitted;
}

export function logEvent(station: StationRole, text: string, level: LogEvent['level'] = 'info', data?: Record<string, unknown>): ChildEmit {
  return { type: 'station.emit', event: { type: 'log', station, text, ...(level !== 'info' ? { level } : {}), ...(data ? { data } : {}) } };
}

/** Station failures that can cut a session short, by the event that caused them. */
const FAILURE_NAMES: Record<string, string> = { 'cp.failed': 'controlPilotFailed', 'slac.failed': 'slacFailed', 'module.silent': 'moduleNotResponding' };

/**
 * How a session that was cut short ended, from the station event that left the session state:
 * `shutdown` (SIGINT/SIGTERM, operator) is a stop reason; anything else is an error.
 */
export function interruption(event: { type: string; error?: unknown; reason?: unknown }): Pick<SessionRecord, 'stopReason' | 'error'> {
  if (event.type === 'shutdown') return { stopReason: 'shutdown' };
  const detail = typeof event.error === 'string' ? event.error : typeof event.reason === 'string' ? event.reason : undefined;
  return { stopReason: 'stationFailed', error: { name: FAILURE_NAMES[event.type] ?? 'stationFailed', ...(detail ? { detail } : {}) } };
}

/** One listener of a station's emitted events (`actor.on(type, fn)`). */
type EmittedHandler = (event: StationEmitted) => void;

/** The part of a station actor the relay needs: its system (children find it there) and `on`. */
interface Emitting {
  readonly system: object;
  on(type: string, handler: EmittedHandler): { unsubscribe(): void };
}

/** Station systems with a relay, for their children's hot-path events (see `relayEmitted`). */
const relays = new WeakMap<object, EmittedHandler>();

/**
 * Lets a station's children emit on the station's listeners without a station macrostep
 * (issue 12 target 4: charger samples, 10 a second, and the per-message "Parameters Changed"
 * log lines were each a station transition only to re-`emit`). XState's emit exists only inside
 * the actor's own actions, so `on` is wrapped: every listener is also kept here, and `relay`
 * calls them as XState's emit does (the listeners of the type, then those of '*', in the order
 * they were added; a throwing listener is reported asynchronously and the others still run).
 * Listeners see the same event objects in the same order as before; only the hops through the
 * station's mailbox are gone. Call before `start()`.
 */
export function relayEmitted(actor: Emitting): void {
  const listeners = new Map<string, Set<EmittedHandler>>();
  const xstateOn = actor.on.bind(actor);
  const on = (type: string, handler: EmittedHandler): { unsubscribe(): void } => {
    const own = (event: StationEmitted): void => handler(event);
    let set = listeners.get(type);
    if (!set) listeners.set(type, (set = new Set()));
    set.add(own);
    const inner = xstateOn(type, handler);
    return {
      unsubscribe: () => {
        set.delete(own);
        inner.unsubscribe();
      },
    };
  };
  Object.assign(actor, { on });
  relays.set(actor.system, (event) => {
    const typed = listeners.get(event.type);
    const any = listeners.get('*');
    if (!typed && !any) return;
    for (const handler of [...(typed ?? []), ...(any ?? [])]) {
      try {
        handler(event);
      } catch (err) {
        // As XState does for its listeners: the error surfaces, the other listeners still run.
        setTimeout(() => {
          throw err;
        });
      }
    }
  });
}

/** The station's relay for a child of it (by the child's `system`), if the station has one. */
export function stationRelay(system: object): EmittedHandler | undefined {
  return relays.get(system);
}

/** The sample event the listeners see, from a charger's or battery's sample (one shape for both paths). */
export function sampleEvent(station: StationRole, s: { at: number; voltageV: number; currentA: number; energyWh: number; socPercent?: number | undefined }): SampleEvent {
  return station === 'EVSE'
    ? {
        type: 'sample',
        station,
        at: s.at,
        voltageV: s.voltageV,
        currentA: s.currentA,
        powerW: s.voltageV * s.currentA,
        energyWh: s.energyWh,
        ...(s.socPercent !== undefined ? { socPercent: s.socPercent } : {}),
      }
    : ({ type: 'sample', station, at: s.at, voltageV: s.voltageV, currentA: s.currentA, powerW: s.voltageV * s.currentA, socPercent: s.socPercent, energyWh: s.energyWh } as SampleEvent);
}
