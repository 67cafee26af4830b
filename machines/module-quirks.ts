/**
 * Behaviours of real WHITE-beet firmware that the host must honour and that differ between
 * firmware versions (issue 9 item 3, "Behaviours of real modules"). The firmware profile table
 * (one entry per firmware) decides these flags; the station machines only read them, so no
 * firmware `if` is scattered through the machines. See docs/field-behaviours.md.
 */

export interface ModuleBehaviour {
  /**
   * The EVSE module reports CP state changes with ControlPilot.StateChanged (15.5.2). EVSE
   * V02_00_01 does not (Sevenstax/FreeV2G#90): the host then polls ControlPilot.GetState.
   */
  sendsCpStateChanged: boolean;
  /** Poll period of the Get State fallback (only while `sendsCpStateChanged` is false). */
  cpStatePollMs: number;
}

/** Manual behaviour (every firmware but EVSE V02_00_01). */
export const DEFAULT_MODULE_BEHAVIOUR: ModuleBehaviour = {
  sendsCpStateChanged: true,
  // One Get State a second: a car is seen within a second (SLAC takes seconds anyway), and one
  // 7-byte frame each way a second costs no measurable CPU.
  cpStatePollMs: 1000,
};

/** The complete behaviour from a profile's (possibly partial) flags. */
export function moduleBehaviour(flags: Partial<ModuleBehaviour> = {}): ModuleBehaviour {
  return { ...DEFAULT_MODULE_BEHAVIOUR, ...flags };
}

/** The CP poll period a station gives its CP machine: undefined when the module reports changes. */
export function cpPollMs(b: ModuleBehaviour): number | undefined {
  return b.sendsCpStateChanged ? undefined : b.cpStatePollMs;
}
