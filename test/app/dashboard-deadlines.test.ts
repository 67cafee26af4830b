/**
 * The dashboard's live deadline figures (app/dashboard-deadlines.ts) on a hand-moved clock: gaps
 * between parameter updates and reactions to charge-loop status messages, counted only while
 * charging, fresh per session, with the EVSE module's 500 ms deadline and none for the EV.
 */
import { describe, expect, it } from 'vitest';
import { deadlineTracker } from '../../app/dashboard-deadlines.js';

describe('dashboard deadline figures', () => {
  it('measures update gaps and reactions while charging, against the EVSE deadline', () => {
    let t = 0;
    const d = deadlineTracker(() => t);
    // Before charging nothing counts.
    d.phase('EVSE', 'preCharge');
    expect(d.traffic('EVSE', 'tx', 'EvseUpdateDcChargingParameters', 'request')).toBe(false);
    d.phase('EVSE', 'charging');
    d.traffic('EVSE', 'tx', 'EvseUpdateDcChargingParameters', 'request');
    t = 200;
    expect(d.traffic('EVSE', 'tx', 'EvseUpdateDcChargingParameters', 'request')).toBe(true);
    t = 210;
    d.traffic('EVSE', 'rx', 'EvseDcChargeParametersChanged', 'status');
    t = 213;
    d.traffic('EVSE', 'tx', 'EvseUpdateDcChargingParameters', 'request');
    expect(d.figures('EVSE')).toEqual({ updateGapMs: 13, longestUpdateGapMs: 200, reactionMs: 3, longestReactionMs: 3, deadlineMs: 500 });
    // A new session's charging starts a fresh count.
    d.phase('EVSE', 'stopped');
    d.phase('EVSE', 'charging');
    expect(d.figures('EVSE')).toEqual({ longestUpdateGapMs: 0, longestReactionMs: 0, deadlineMs: 500 });
  });

  it('the EV has no module deadline', () => {
    const d = deadlineTracker(() => 0);
    d.phase('EV', 'charging');
    expect(d.figures('EV')).toEqual({ longestUpdateGapMs: 0, longestReactionMs: 0 });
  });
});
