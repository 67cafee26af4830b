/**
 * The CI slice of the fuzz campaign (issue 12 item 13; the campaign is bench/fuzz-sessions.ts):
 * whole sessions under seeded random faults at every phase; each ends safe, output 0, and a
 * V2G session that started has its record.
 */
import { describe, expect, it } from 'vitest';
import { fuzzSession } from '../helpers/fuzz-session.js';

// Seed 1006 found the missing V2G_SECC_Sequence_Timeout (test/sim/sequence-timeout.test.ts).
// Seeds 511 552 567 661 of campaign run 2 (hosts waiting for ever for a lost frame) pass on
// today's draws either way (test/sim/lost-frames.test.ts loses each frame on purpose); 602 and
// 684 (1264 1304 1497: cable check) fail on today's draws without the lost-end watchdog and the liveness fix.
// 602 also fails without the EV host's kept early statuses: the verdict checks that the EV record
// does not say configurationFailed for a session its module started (a lost Start Session answer).
// 684's open part (the EV reset's stop while charging) no longer shows on today's draws:
// test/machines/ev-reinit-stop.test.ts loses the module on purpose. 19954 23588 (campaign run 3):
// Charging Stopped and Post Charging Ready both lost, the EV host stayed in charging for ever;
// 59367 then its Stop Session lost too (sent once more now). 110572 (run 4): the PLC link lost in
// service discovery left the EVSE session in `started` with nothing from the module for ever.
// 116055 (run 4): the car stopped its session in pre-charge and the EVSE module's Session Stopped
// was lost; the EVSE host stayed in pre-charge for ever (now bounded, PRE_CHARGE_LOST_END_MS).
// 152399 199847 (run 4): every answer to the EV's Start Session lost while its module started;
// the EV host recorded configurationFailed (now it waits for Session Started as after a 0x11).
// 253035 (run 5): the PLC link lost in the charge loop and the EVSE module's Session Error and
// Session Stopped both lost on the HCI link; the EVSE host stayed in charging for ever (now the
// EV's C -> B ends it, test/sim/charge-silence.test.ts).
// 204869 211969 237380 (run 5): the EV host ended a session (abort, module set up again) whose
// module refused Stop Session in session set-up and ran on; configured again meanwhile, it
// recorded configurationFailed (now it waits for the module's end, machines/v2g-ev/abort.ts).
const SEEDS = [511, 552, 567, 602, 661, 684, 1264, 1304, 1497, 19954, 23588, 59367, 110572, 116055, 152399, 199847, 204869, 211969, 237380, 253035, ...Array.from({ length: 12 }, (_, i) => 1000 + i)];

describe('fuzzed sessions (seeded)', () => {
  it.each(SEEDS)(
    'seed %i ends safe with a record',
    async (seed) => {
      const v = await fuzzSession(seed);
      expect(v.problem, JSON.stringify(v.faults)).toBeUndefined();
    },
    60_000,
  );

  // Fifth round (docs/reliability.md, "sessions stuck on one lost frame"): one seed per kind that
  // started no V2G session (or only after a module was set up again) for one lost or late frame:
  // the 5 % command (200015), the EV's 5 % notification (200065), the 100 % that overtook it
  // (200451, the injector), the SLAC result (200104), the EVSE's Session Started (200602), the CP
  // state (200035), a Start SLAC answer (200026, 200116); 3251 found a started session with no
  // record (Session Started lost, then the module silent).
  it.each([200015, 200065, 200451, 200104, 200602, 200035, 200026, 200116, 3251])(
    'seed %i starts its V2G session with no module set up again, and ends safe',
    async (seed) => {
      const v = await fuzzSession(seed);
      expect(v.problem, JSON.stringify(v.faults)).toBeUndefined();
      expect([v.sessionStarted, v.startedAfterSetUpAgain]).toEqual([true, false]);
    },
    60_000,
  );

  // Seventh round (docs/reliability.md, "module set-up retried with back-off"): the EVSE's CP Set
  // Mode unanswered three times in a row at start-up failed the set-up, and the station stopped
  // for good; now the set-up is tried again after 5 s and the session starts.
  it('seed 200830 (Set Mode lost at start-up) starts its V2G session after a set-up tried again, and ends safe', async () => {
    const v = await fuzzSession(200830);
    expect(v.problem, JSON.stringify(v.faults)).toBeUndefined();
    expect(v.sessionStarted).toBe(true);
  }, 60_000);

  // Eighth round (docs/reliability.md, "the campaign's causes"): sessions the car could have
  // completed, lost to a fault the host can recover from. 300003 300056 300076: Schedules Requested
  // lost on the EVSE link, the module's 5 s timeout ended the session (now offered its answer,
  // machines/v2g-evse/schedules-probe.ts). 300479 300854: Pre Charging Ready lost on the EV link,
  // the EVSE module's 60 s timeout (machines/v2g-ev/pre-charge-probe.ts). 400164 400005: the EV's
  // Start Pre Charging, Start Cable Check lost (now sent again, machines/v2g-ev/setup-actions.ts).
  it.each([300003, 300056, 300076, 300479, 300854, 400164, 400005])(
    "seed %i (a lost status of a pair, or a lost EV start command) charges to the car's target",
    async (seed) => {
      const v = await fuzzSession(seed);
      expect(v.problem, JSON.stringify(v.faults)).toBeUndefined();
      expect(v.ending.completed, JSON.stringify(v.ending)).toBe(true);
    },
    60_000,
  );

  // Ninth round (docs/reliability.md, "EV sessions lost or recorded late"): on the EV link,
  // 300030: Session Stopped lost after a complete charge, the EV record 65 s late (Stop Session was
  // taken: machines/v2g-ev/stop-taken.ts); 300947: Stop Session's answer lost as well (its resend
  // refused 0x11: taken, v2g-ev/lost-answers.ts); 300122: Charging Ready lost, the 10 s pre-charge
  // watchdog (v2g-ev/charging-ready-probe.ts); 300043 300884: Cable Check Ready lost (and Session
  // Started with it in 300884), the EVSE module's 60 s (v2g-ev/cable-check-probe.ts). None completed on main.
  it.each([300030, 300947, 300122, 300043, 300884])(
    "seed %i (an EV status or answer lost at the session's end, in pre-charge or before the cable check) charges to the car's target",
    async (seed) => {
      const v = await fuzzSession(seed);
      expect(v.problem, JSON.stringify(v.faults)).toBeUndefined();
      expect(v.ending.completed, JSON.stringify(v.ending)).toBe(true);
    },
    60_000,
  );

  // Ninth round (docs/reliability.md, EVSE side): 300249 300405 300461: Start Charging Requested
  // lost on the EVSE link after pre-charge, the module's 5 s timeout ended the session (now offered
  // its answer when the car's pre-charge requests stop, machines/v2g-evse/start-charging-probe.ts).
  // 301595: the same, and the offer's answer lost too (taken: the car then asks the charge loop's
  // current). None completed on main.
  it.each([300249, 300405, 300461, 301595])(
    "seed %i (Start Charging Requested lost on the EVSE link) charges to the car's target",
    async (seed) => {
      const v = await fuzzSession(seed);
      expect(v.problem, JSON.stringify(v.faults)).toBeUndefined();
      expect(v.ending.completed, JSON.stringify(v.ending)).toBe(true);
    },
    60_000,
  );

  // Setting a module up again rescues a session stuck on a lost frame: before the second liveness
  // Ping, one lost Ping Reply did that, and the campaign's started figure counted those sessions as
  // the link's (docs/reliability.md, "the second Ping"). Since the state re-reads stand in for the
  // Ping at rest and in SLAC such seeds are rare: 209075 was the first from 204001 whose session
  // started only after a set-up (206054 was one before); since the EVSE also re-reads the CP state
  // with a car connected (seventh round) none from 204001 to 212000 is; 191797, the first from
  // 180001, is (on main too); 200001: no set-up.
  it('counts apart a V2G session that started only after a module was set up again', async () => {
    const [rescued, plain] = await Promise.all([fuzzSession(191797), fuzzSession(200001)]);
    expect([rescued.sessionStarted, rescued.startedAfterSetUpAgain]).toEqual([true, true]);
    expect([plain.sessionStarted, plain.startedAfterSetUpAgain]).toEqual([true, false]);
  }, 60_000);
});
