/**
 * The virtual cable between the simulated EVSE and EV modules: the plug, the control pilot
 * wire (IEC 61851-1: the EVSE's PWM and the EV's resistors give the states A-F), the PLC link
 * SLAC builds, and the V2G channel the two modules exchange ISO 15118 messages over. It holds no
 * protocol logic; the modules' services read it and are told when it changes.
 */
import type { CpStateName } from '../codec/modules/control-pilot.js';
import type { Clock } from '../util/clock.js';
import type { SessionPhase } from './phases.js';
import { type V2gMessage, v2gLabel } from './v2g-messages.js';
import { LeanSubject } from '../util/lean-subject.js';

export type CableEvent =
  | { type: 'plug'; at: number }
  | { type: 'unplug'; at: number }
  | { type: 'cp'; at: number; evseState: CpStateName; evState: CpStateName; dutyCyclePermill: number }
  | { type: 'slac'; at: number; side: 'EV' | 'EVSE'; result: 'success' | 'failed' }
  | { type: 'plcLink'; at: number; up: boolean }
  | { type: 'phase'; at: number; phase: SessionPhase }
  | { type: 'v2g'; at: number; from: 'EV' | 'EVSE'; message: string; pause?: true }
  | { type: 'battery'; at: number; socPercent: number; energyWh: number };

/** What the EVSE drives onto the CP line. */
interface EvseCpOutput {
  started: boolean;
  dutyCyclePermill: number;
}
/** What the EV switches in (resistor level 0 = only 2.74 kOhm = state B). */
interface EvCpInput {
  started: boolean;
  level: 0 | 1 | 2;
}

type Listener = () => void;

/** Latency of one V2G message over PLC (TCP/IP on HomePlug Green PHY). */
export const V2G_LATENCY_MS = 5;

export class VirtualCable {
  readonly events$ = new LeanSubject<CableEvent>();
  private plugged = false;
  private evse: EvseCpOutput = { started: false, dutyCyclePermill: 1000 };
  private ev: EvCpInput = { started: false, level: 0 };
  private cpFault = false;
  private plc = false;
  private evseMatching = false;
  private readonly listeners = new Set<Listener>();
  private toSecc: ((m: V2gMessage) => void) | undefined;
  private toEvcc: ((m: V2gMessage) => void) | undefined;
  /** Bumped whenever the PLC link drops, so messages in flight on an old link are lost. */
  private linkEpoch = 0;
  phase: SessionPhase = 'idle';

  constructor(private readonly clock: Clock) {}

  get isPlugged(): boolean {
    return this.plugged;
  }
  get plcLinkUp(): boolean {
    return this.plc;
  }

  plug(): void {
    if (this.plugged) return;
    this.plugged = true;
    this.emit({ type: 'plug', at: this.clock.now() });
    this.changed();
  }

  unplug(): void {
    if (!this.plugged) return;
    // The EVSE module's matching window stays open (16.4.5: 50 s from Start Matching; the
    // module does not watch the CP): a car plugged in within it can still match.
    this.plugged = false;
    this.emit({ type: 'unplug', at: this.clock.now() });
    this.setPlcLink(false);
    this.changed();
  }

  /** Short between CP and PE (state E), for fault tests. */
  setCpFault(on: boolean): void {
    this.cpFault = on;
    this.changed();
  }

  /** Registers a callback run after every change of plug, CP or PLC link. */
  onChange(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  setEvseCp(out: Partial<EvseCpOutput>): void {
    this.evse = { ...this.evse, ...out };
    this.changed();
  }
  setEvCp(inp: Partial<EvCpInput>): void {
    this.ev = { ...this.ev, ...inp };
    this.changed();
  }

  /** The state the EVSE measures (15.4.9): 12 V A, 9 V B, 6 V C, 3 V D, 0 V E, -12 V F. */
  get evseCpState(): CpStateName {
    if (!this.plugged) return this.evse.started && this.evse.dutyCyclePermill === 0 ? 'F' : 'A';
    if (this.cpFault) return 'E';
    if (this.evse.started && this.evse.dutyCyclePermill === 0) return 'F';
    return this.evResistorState();
  }

  /** The state the EV measures: it only tells B-E apart (15.4.9); unplugged it sees 0 V. */
  get evCpState(): CpStateName {
    if (!this.plugged || this.cpFault) return 'E';
    if (this.evse.started && this.evse.dutyCyclePermill === 0) return 'unknown';
    return this.evResistorState();
  }

  private evResistorState(): CpStateName {
    if (!this.ev.started) return 'B';
    return (['B', 'C', 'D'] as const)[this.ev.level];
  }

  /** The PWM duty cycle the EV sees: none unplugged, 100 % (X1) while the EVSE's CP is off. */
  get evDutyCyclePermill(): number {
    if (!this.plugged) return 0;
    return this.evse.started ? this.evse.dutyCyclePermill : 1000;
  }

  // --- SLAC -------------------------------------------------------------------------------

  /** The EVSE's SLAC module is in its matching window (16.4.5: 50 s after Start Matching). */
  setEvseMatching(on: boolean): void {
    this.evseMatching = on;
  }
  get canMatch(): boolean {
    return this.plugged && this.evseMatching;
  }

  private slacListeners = new Set<(side: 'EV' | 'EVSE', ok: boolean) => void>();
  onSlac(fn: (side: 'EV' | 'EVSE', ok: boolean) => void): () => void {
    this.slacListeners.add(fn);
    return () => this.slacListeners.delete(fn);
  }

  /** Called by the EV's SLAC when an attempt ends; success joins both sides to one network. */
  slacResult(ok: boolean): void {
    const at = this.clock.now();
    if (ok) {
      this.evseMatching = false;
      for (const fn of this.slacListeners) fn('EVSE', true);
      this.emit({ type: 'slac', at, side: 'EVSE', result: 'success' });
    }
    for (const fn of this.slacListeners) fn('EV', ok);
    this.emit({ type: 'slac', at, side: 'EV', result: ok ? 'success' : 'failed' });
    if (ok) this.setPlcLink(true);
  }

  setPlcLink(up: boolean): void {
    if (this.plc === up) return;
    this.plc = up;
    if (!up) this.linkEpoch++;
    this.emit({ type: 'plcLink', at: this.clock.now(), up });
    this.changed();
  }

  // --- V2G channel ------------------------------------------------------------------------

  attachSecc(fn: (m: V2gMessage) => void): void {
    this.toSecc = fn;
  }
  attachEvcc(fn: (m: V2gMessage) => void): void {
    this.toEvcc = fn;
  }

  /** Sends a V2G message to the other module; lost when the link is (or goes) down. */
  sendV2g(from: 'EV' | 'EVSE', m: V2gMessage): boolean {
    if (!this.plc) return false;
    const epoch = this.linkEpoch;
    this.emit({ type: 'v2g', at: this.clock.now(), from, message: v2gLabel(m), ...(m.type === 'req' && m.chargingSession === 'pause' ? { pause: true as const } : {}) });
    this.clock.setTimeout(() => {
      if (!this.plc || epoch !== this.linkEpoch) return;
      (from === 'EV' ? this.toSecc : this.toEvcc)?.(m);
    }, V2G_LATENCY_MS);
    return true;
  }

  setPhase(phase: SessionPhase): void {
    if (this.phase === phase) return;
    this.phase = phase;
    this.emit({ type: 'phase', at: this.clock.now(), phase });
    for (const fn of this.phaseListeners) fn(phase);
  }
  private phaseListeners = new Set<(p: SessionPhase) => void>();
  onPhase(fn: (p: SessionPhase) => void): () => void {
    this.phaseListeners.add(fn);
    return () => this.phaseListeners.delete(fn);
  }

  emit(e: CableEvent): void {
    this.events$.next(e);
  }

  private lastCp = '';
  private changed(): void {
    const cp = `${this.evseCpState}${this.evCpState}${this.evDutyCyclePermill}`;
    if (cp !== this.lastCp) {
      this.lastCp = cp;
      this.emit({ type: 'cp', at: this.clock.now(), evseState: this.evseCpState, evState: this.evCpState, dutyCyclePermill: this.evDutyCyclePermill });
    }
    for (const fn of this.listeners) fn();
  }

  close(): void {
    this.events$.complete();
    this.listeners.clear();
    this.slacListeners.clear();
    this.phaseListeners.clear();
  }
}
