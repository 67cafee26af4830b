/**
 * How a simulated module departs from the manual the way real firmware does (issue 9 item 4,
 * docs/field-behaviours.md). Scenario key `quirks.evse` / `quirks.ev`; every field defaults to
 * the manual's behaviour. The firmware profile table may fill these per firmware.
 */
import * as z from 'zod';
import type { CommandDef, StatusDef } from '../codec/message.js';

/** 18.5: "wrong state, not in the state to receive the command". */
export const WRONG_STATE_AFTER_BUSY = 0x11;
const BUSY = 0x01;

/**
 * A command the module answers with 0x01 (busy). Busy streaks end when the command is accepted,
 * so a rule holds again for the command's next use (e.g. every session's Set Authorization).
 */
const busyRule = z.strictObject({
  /** "Module.Name", e.g. "V2g.EvseSetAuthorizationStatus". */
  command: z.string().regex(/^\w+\.\w+$/),
  /** Busy answers in a row before the command is accepted. */
  times: z.number().int().min(1).default(1),
  /**
   * Busy only this soon (ms) after the module's last status message: Set Authorization sent
   * ~2 ms after Authorization Status Requested is busy, 25 ms after mostly not
   * (Sevenstax/FreeV2G#14).
   */
  withinMsOfStatus: z.number().int().min(0).optional(),
  /**
   * Busy until the module has received this command ("Module.Name"): PI Set Mode while an old
   * session lingers, until Stop Session (Sevenstax/FreeV2G#349). `times` does not apply.
   */
  untilReceived: z
    .string()
    .regex(/^\w+\.\w+$/)
    .optional(),
  /**
   * While this command has not been accepted after a busy answer, the module's other commands
   * answer 0x11: the setup after a Set Mode whose busy answer was not retried fails
   * (Sevenstax/FreeV2G#183, #180).
   */
  wrongStateUntilAccepted: z.boolean().default(false),
});

/**
 * How long a restart takes (Sevenstax/FreeV2G#72). The vendor: Restart System resets the module
 * 5 s after its response (commands answered meanwhile have no effect after the reset); the
 * module is ready "as soon as it responds to a frame" and answers slowly (36-152 ms per ping in
 * the reporter's trace, the QCA firmware being uploaded) until it is fully functional. Issue 9
 * reads it as ~5 s plus ~10 s until it answers normally. Defaults 0: the manual's instant restart.
 */
const restartTiming = z.strictObject({
  /** Restart System: the reset happens this long after the response. */
  resetAfterMs: z.number().int().min(0).default(0),
  /** After the reset (also an unprompted one, fault `resetIn`): nothing is answered for this long. */
  silentMs: z.number().int().min(0).default(0),
  /** Then every frame goes out `slowReplyMs` late for this long. */
  slowForMs: z.number().int().min(0).default(0),
  slowReplyMs: z.number().int().min(0).default(0),
});

export const moduleQuirksSchema = z.strictObject({
  /** EVSE V02_00_01 sends no ControlPilot.StateChanged (Sevenstax/FreeV2G#90). */
  sendsCpStateChanged: z.boolean().default(true),
  busy: z.array(busyRule).default([]),
  /**
   * Commands ("Module.Name") whose response is preceded by NetworkConfiguration InterfaceDown
   * and InterfaceUp status frames, as real traces show around SLAC (Sevenstax/FreeV2G#71, #140).
   */
  interfaceFlapBefore: z.array(z.string()).default([]),
  /**
   * Status messages ("Module.Name") this firmware never sends: no DC Charge Parameters Changed
   * before pre-charge on DIN in V02_00_00 (Sevenstax/FreeV2G#42), none when only the SOC changes
   * (#68).
   */
  omitStatus: z.array(z.string()).default([]),
  /** DC Charge Parameters Changed is not sent when only the SOC changed (Sevenstax/FreeV2G#68). */
  dcChangedOmitsSocOnly: z.boolean().default(false),
  /** Restart timing (Sevenstax/FreeV2G#72). */
  restart: restartTiming.default(restartTiming.parse({})),
});

export const quirksSchema = z.strictObject({
  evse: moduleQuirksSchema.default(moduleQuirksSchema.parse({})),
  ev: moduleQuirksSchema.default(moduleQuirksSchema.parse({})),
});

export type ModuleQuirks = z.infer<typeof moduleQuirksSchema>;
export type BusyRule = z.infer<typeof busyRule>;

/**
 * "Module.Name" of a definition, built once per definition: every command the module receives is
 * noted by name, and a fresh string per frame had to be built and hashed each time.
 */
const names = new WeakMap<CommandDef | StatusDef, string>();
const nameOf = (def: CommandDef | StatusDef): string => {
  let name = names.get(def);
  if (name === undefined) names.set(def, (name = `${def.module}.${def.name}`));
  return name;
};

/** The per-module state the quirks need (busy streaks, what was received); reset with the module. */
export class QuirkState {
  private streaks = new Map<BusyRule, number>();
  private received = new Set<string>();
  /** Commands answered busy and not accepted since (for `wrongStateUntilAccepted`). */
  private pendingBusy = new Set<BusyRule>();
  private lastStatusAt = Number.NEGATIVE_INFINITY;

  constructor(readonly quirks: ModuleQuirks) {}

  /** A result code to answer instead of handling the command, or undefined. */
  intercept(def: CommandDef, now: number): number | undefined {
    const name = nameOf(def);
    this.received.add(name);
    for (const rule of this.pendingBusy) {
      if (rule.command !== name && rule.command.split('.')[0] === def.module) return WRONG_STATE_AFTER_BUSY;
    }
    const rule = this.quirks.busy.find((r) => r.command === name);
    if (!rule || !this.busyNow(rule, now)) {
      if (rule) this.accepted(rule);
      return undefined;
    }
    this.streaks.set(rule, (this.streaks.get(rule) ?? 0) + 1);
    if (rule.wrongStateUntilAccepted) this.pendingBusy.add(rule);
    return BUSY;
  }

  private busyNow(rule: BusyRule, now: number): boolean {
    if (rule.untilReceived !== undefined) return !this.received.has(rule.untilReceived);
    if (rule.withinMsOfStatus !== undefined && now - this.lastStatusAt >= rule.withinMsOfStatus) return false;
    return (this.streaks.get(rule) ?? 0) < rule.times;
  }

  private accepted(rule: BusyRule): void {
    this.streaks.delete(rule);
    this.pendingBusy.delete(rule);
  }

  /** False for a status message the firmware never sends; notes when the others go out. */
  sends(def: StatusDef, now: number): boolean {
    if (this.quirks.omitStatus.includes(nameOf(def))) return false;
    this.lastStatusAt = now;
    return true;
  }

  flapsBefore(def: CommandDef): boolean {
    return this.quirks.interfaceFlapBefore.includes(nameOf(def));
  }

  reset(): void {
    this.streaks.clear();
    this.received.clear();
    this.pendingBusy.clear();
    this.lastStatusAt = Number.NEGATIVE_INFINITY;
  }
}
