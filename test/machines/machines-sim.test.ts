/**
 * EVSE station vs EV station on the simulated module pair, on the virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { ended, start } from '../helpers/sim-run.js';
import { SMALL_BATTERY } from '../helpers/stations.js';

describe('stations on the simulated pair', () => {
  it('runs a full DC session from 50 % to 80 %, then the next one after a replug', async () => {
    const r = start({ scenario: { cable: { plugInAfterMs: 1000, unplugAfterSessionMs: 2000, replugAfterMs: 3000 } } });
    expect(await r.until(ended(r))).toBe(true);
    const [evseRec] = r.records('EVSE');
    const [evRec] = r.records('EV');
    expect(evseRec).toMatchObject({ protocol: 'ISO15118-2', energyTransferMode: 'dcCore', evccId: '000101637731', stopReason: 'evStopped' });
    expect(evseRec?.error).toBeUndefined();
    expect(evRec).toMatchObject({ stopReason: 'targetSocReached', socStartPercent: 50 });
    // One EVCC ID form in every record (the EV's was "00:01:01:63:77:31").
    expect(evRec?.evccId).toBe(evseRec?.evccId);
    expect(evRec?.socEndPercent).toBeGreaterThanOrEqual(80);
    expect(evseRec?.energyDeliveredWh).toBeGreaterThan(250);
    // The module's deadline on the virtual clock (the record's longestUpdateGapMs is host real time,
    // which a loaded machine stretches): consecutive DC updates within one session stay within 250 ms.
    expect(typeof evseRec?.longestUpdateGapMs).toBe('number');
    const gaps = updateGapsPerSession(r);
    expect(gaps.length).toBeGreaterThan(10);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(250);
    expect(r.violations).toEqual([]);

    // The reference's console sequence, in order.
    const evseLogs = r.logs('EVSE');
    const order = [
      'Set the CP mode to EVSE',
      'Set the CP duty cycle to 100%',
      'Start the CP service',
      'Start SLAC in EVSE mode',
      'EV connected',
      'Start SLAC matching',
      'Set duty cycle to 5%',
      'SLAC matching successful',
      'Set V2G mode to EVSE',
      'Start V2G',
      '"Session started" received',
      '"Request Authorization" received',
      'Vehicle was authorized by user!',
      '"Request Schedules" received',
      '"Request Cable Check Status" received',
      '"Pre Charge Started" received',
      '"Start Charging Requested" received',
      '"Request Stop Charging" received',
      '"Session stopped" received',
    ];
    let at = -1;
    for (const line of order) {
      const i = evseLogs.indexOf(line, at + 1);
      expect(i, line).toBeGreaterThan(at);
      at = i;
    }
    // HCI commands of the EVSE session in order (updates aside).
    const evseCmds = r.commands('EVSE').filter((c) => !c.includes('Update'));
    const expected = [
      'V2g.SetMode',
      'V2g.EvseSetConfiguration',
      'V2g.EvseSetDcChargingParameters',
      'V2g.EvseSetAcChargingParameters',
      'V2g.EvseStartListen',
      'V2g.EvseSetAuthorizationStatus',
      'V2g.EvseSetSchedules',
      'V2g.EvseSetCableCheckFinished',
      'V2g.EvseStartCharging',
      'V2g.EvseStopCharging',
      'V2g.EvseStopListen',
    ];
    const v2g = evseCmds.filter((c) => c.startsWith('V2g.'));
    expect(v2g.slice(v2g.indexOf('V2g.SetMode'), v2g.indexOf('V2g.SetMode') + expected.length)).toEqual(expected);

    // The next car on the same actors.
    expect(await r.until(ended(r, 2))).toBe(true);
    expect(r.records('EVSE')[1]).toMatchObject({ stopReason: 'evStopped' });
    expect(r.records('EVSE')[1]?.error).toBeUndefined();
    expect(r.violations).toEqual([]);
  });

  it('runs a full AC session', async () => {
    const r = start({ ev: { energyTransferModes: [5] } });
    expect(await r.until(ended(r))).toBe(true);
    const [evseRec] = r.records('EVSE');
    expect(evseRec).toMatchObject({ energyTransferMode: 'acThreePhase' });
    expect(evseRec?.error).toBeUndefined();
    expect(r.records('EV')[0]).toMatchObject({ stopReason: 'targetSocReached' });
    expect(r.commands('EVSE')).toContain('V2g.EvseUpdateAcChargingParameters');
    expect(r.commands('EVSE')).not.toContain('V2g.EvseSetCableCheckFinished');
    expect(r.violations).toEqual([]);
  });

  it('follows the schedule shape: power entries limit the EV current', async () => {
    const r = start({
      evse: {
        schedule: [
          {
            scheduleTupleId: 1,
            entries: [
              { startS: 0, intervalS: 60, powerW: 4000 },
              { startS: 60, intervalS: 86400, powerW: 2000 },
            ],
          },
        ],
      },
      ev: { battery: { ...SMALL_BATTERY, capacityWh: 400, levelWh: 200 } },
      scenario: { ev: { battery: { capacityWh: 400, socTargetPercent: 80 } } },
    });
    expect(await r.until(ended(r))).toBe(true);
    const evRec = r.records('EV')[0];
    expect(evRec?.schedule?.[0]?.entries.map((e) => e.powerW)).toEqual([4000, 2000]);
    const updates = r.tx.EV.filter((m) => m.message === 'EvUpdateDcChargingParameters').map((m) => m.fields.targetCurrentA as number);
    expect(Math.max(...updates)).toBeLessThanOrEqual(20); // 4000 W / 200 V
    expect(updates.at(-1)).toBe(10); // 2000 W / 200 V after 60 s
  });

  it('ends with authorization failed when the policy denies', async () => {
    const r = start({ policy: { mode: 'denyAll' } });
    expect(await r.until(ended(r))).toBe(true);
    expect(r.tx.EVSE.find((m) => m.message === 'EvseSetAuthorizationStatus')?.fields).toEqual({ result: 1 });
    expect(r.records('EVSE')[0]).toMatchObject({ stopReason: 'authorizationDenied' });
    expect(r.records('EV')[0]?.error).toBeDefined();
    expect(r.commands('EVSE')).not.toContain('V2g.EvseStartCharging');
    expect(r.violations).toEqual([]);
  });

  it('answers failed before the module times out when the policy never answers', async () => {
    const r = start({ policy: { mode: 'interactive', ask: () => new Promise<boolean>(() => {}) }, scenario: { station: { timeouts: { authorizationMs: 10_000 } } } });
    expect(await r.until(ended(r))).toBe(true);
    expect(r.logs('EVSE')).toContain('Authorization timed out: no answer from the policy');
    expect(r.records('EVSE')[0]).toMatchObject({ stopReason: 'authorizationTimeout' });
    expect(r.violations).toEqual([]);
  });

  it('reports a session error when no energy transfer mode is common', async () => {
    const r = start({ evse: { energyTransferModes: [0, 1, 2, 3] }, ev: { energyTransferModes: [5] } });
    expect(await r.until(ended(r))).toBe(true);
    expect(r.records('EV')[0]?.error).toMatchObject({ code: 2, name: 'energyTransferModeUnavailable' });
    expect(r.commands('EVSE')).not.toContain('V2g.EvseStartCharging');
    expect(r.violations).toEqual([]);
  });

  it('stops charging when the car reports an error in the charge loop', async () => {
    const r = start({ scenario: { ev: { battery: { capacityWh: 1000, socTargetPercent: 80 }, errors: [{ phase: 'chargeLoop', evErrorCode: 6 }] } } });
    expect(await r.until(ended(r))).toBe(true);
    expect(r.logs('EVSE').some((l) => l.includes('EV error 6 (chargingVoltageOutOfRange) while charging'))).toBe(true);
    const cmds = r.commands('EVSE');
    expect(cmds.indexOf('V2g.EvseSendNotification')).toBeGreaterThan(cmds.indexOf('V2g.EvseStartCharging'));
    expect(cmds.indexOf('V2g.EvseStopCharging')).toBeGreaterThan(cmds.indexOf('V2g.EvseSendNotification'));
    expect(r.records('EVSE')[0]).toMatchObject({ stopReason: 'evError:chargingVoltageOutOfRange' });
    expect(r.records('EV')[0]).toMatchObject({ stopReason: 'evseRequestedStop' });
    expect(r.violations).toEqual([]);
  });

  it('stops on the operator request: output 0, EV asked to stop, normal end', async () => {
    const r = start();
    await r.until(() => r.emitted.EVSE.some((e) => e.type === 'phase' && e.phase === 'charging'));
    await r.until(() => false, 3000);
    r.evse.send({ type: 'stopCharging' });
    expect(await r.until(ended(r))).toBe(true);
    const cmds = r.commands('EVSE');
    expect(cmds.indexOf('V2g.EvseStopCharging')).toBeGreaterThan(cmds.indexOf('V2g.EvseSendNotification'));
    expect(r.records('EVSE')[0]).toMatchObject({ stopReason: 'operatorStop' });
    expect(r.records('EVSE')[0]?.error).toBeUndefined();
    expect(r.records('EV')[0]).toMatchObject({ stopReason: 'evseRequestedStop' });
    expect(r.violations).toEqual([]);
  });

  it('shuts down cleanly in the middle of charging: output 0, stop charging, listen, SLAC, CP', async () => {
    const r = start();
    await r.until(() => r.emitted.EVSE.some((e) => e.type === 'phase' && e.phase === 'charging'));
    await r.until(() => false, 5000);
    r.evse.send({ type: 'shutdown' });
    await r.until(() => r.evse.getSnapshot().status === 'done', 10_000);
    expect(r.evse.getSnapshot().status).toBe('done');
    const tail = r.commands('EVSE').slice(-4);
    expect(tail).toEqual(['V2g.EvseStopCharging', 'V2g.EvseStopListen', 'Slac.StopSlac', 'ControlPilot.Stop']);
  });
});

/** Gaps between the EVSE's DC updates on the virtual clock, Start Charging to Stop Charging of each session. */
function updateGapsPerSession(r: ReturnType<typeof start>): number[] {
  const gaps: number[] = [];
  let last: number | undefined;
  r.tx.EVSE.forEach((m, i) => {
    const at = r.txAtEvse[i] ?? 0;
    if (m.message === 'EvseStopCharging') last = undefined;
    else if (m.message === 'EvseUpdateDcChargingParameters') {
      if (last !== undefined) gaps.push(at - last);
      last = at;
    }
  });
  return gaps;
}
