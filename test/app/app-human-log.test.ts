/**
 * The human log of a whole simulated session (the default `npm start` configuration, in process
 * on a virtual clock): the reference's phases in order, each said once, no line logged twice,
 * and the charge loop condensed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { simStations } from '../../app/commands/sim.js';
import { runStations } from '../../app/run.js';
import { createSimulatedPair } from '../../sim/index.js';
import { VirtualClock } from '../../util/clock.js';

async function humanLog(): Promise<string> {
  const clock = new VirtualClock(Date.parse('2026-11-26T12:00:00Z'));
  const [evse, ev] = simStations(['EVSE', 'EV'], []);
  if (!evse || !ev) throw new Error('no default stations');
  const pair = createSimulatedPair({ clock, evseMac: evse.mac, evMac: ev.mac });
  let text = '';
  const out = { write: (s: string) => ((text += s), true), isTTY: false } as unknown as NodeJS.WriteStream;
  const result = await runStations({
    stations: [
      { settings: evse, transport: pair.evseHost, hostMac: '02:00:00:00:00:01', moduleMac: evse.mac },
      { settings: ev, transport: pair.evHost, hostMac: '02:00:00:00:00:02', moduleMac: ev.mac },
    ],
    clock,
    logFormat: 'human',
    ask: false,
    sessions: 1,
    out,
    cleanup: () => pair.close(),
  });
  expect(result.exitCode).toBe(0);
  return text;
}

const linesOf = (log: string, station: 'EVSE' | 'EV'): string[] =>
  log
    .split('\n')
    .filter((l) => l.startsWith(`${station.padEnd(4)} | `))
    .map((l) => l.slice(7));

/** Each wanted prefix matches a line after the previous one's. */
function assertInOrder(lines: string[], wanted: string[]): void {
  let at = -1;
  for (const w of wanted) {
    const i = lines.findIndex((l, k) => k > at && l.startsWith(w));
    expect(i, `"${w}" after line ${at}: ${lines[at] ?? ''}`).toBeGreaterThan(at);
    at = i;
  }
}

describe('human log of a simulated session', () => {
  let log = '';
  beforeAll(async () => {
    log = await humanLog();
  }, 60_000);

  it('EVSE: the reference phases in order', () => {
    assertInOrder(linesOf(log, 'EVSE'), [
      'Set the CP mode to EVSE',
      'Set the CP duty cycle to 100%',
      'Start the CP service',
      'Start SLAC in EVSE mode',
      'Wait until an EV connects',
      'EV connected',
      'Start SLAC matching',
      'Set duty cycle to 5%',
      'SLAC matching successful',
      'Set V2G mode to EVSE',
      'Start V2G',
      '"Session started" received',
      'Protocol: ',
      'Session ID: ',
      'EVCC ID: ',
      '"Request Authorization" received',
      'Vehicle was authorized by user!',
      '"Request Schedules" received',
      'Max entries: ',
      'Set the schedule: ',
      '"Request Cable Check Status" received',
      '"Pre Charge Started" received',
      '"Start Charging Requested" received',
      '"DC Charge Parameters Changed" received',
      'EV target voltage: 200 V',
      'Charging: ',
      '"Request Stop Charging" received',
      '"Session stopped" received',
      'Stop the CP service',
    ]);
  });

  it('EV: the reference phases in order', () => {
    assertInOrder(linesOf(log, 'EV'), [
      'Set the CP mode to EV',
      'Start the CP service',
      'Set the CP state to State B',
      'Wait until an EVSE connects',
      'EVSE connected',
      'Start SLAC matching',
      'SLAC matching successful',
      'Set V2G mode to EV',
      'Create new charging session',
      '"Session started" received',
      '"Cable Check Ready" received',
      'Change State to State C',
      '"Pre Charging Ready" received',
      '"Charging Started" received',
      'Charging: ',
      'charging done',
      '"Charging Stopped" received',
      'Change State to State B',
      '"Session Stopped" received',
      'Stop the CP service',
    ]);
  });

  it('says each step once: no duplicated lines', () => {
    const once = [
      'Start SLAC matching',
      'SLAC matching successful',
      'Change State to State C',
      'Change State to State B',
      '"Charging Started" received',
      'charging done',
      '"Session started" received',
      '"Start Charging Requested" received',
      '"Request Stop Charging" received',
      'EV connected',
      'EVSE connected',
    ];
    for (const station of ['EVSE', 'EV'] as const) {
      const lines = linesOf(log, station);
      for (const l of once) expect(lines.filter((x) => x === l).length, `${station}: ${l}`).toBeLessThanOrEqual(1);
      // Nothing is printed twice in a row (progress lines always differ in energy).
      const repeats = lines.filter((l, i) => i > 0 && l === lines[i - 1]);
      expect(repeats, station).toEqual([]);
    }
  });

  it('condenses the charge loop', () => {
    expect(log.split('\n').length).toBeLessThan(300);
    expect(log).toMatch(/^Session summary +EVSE +EV$/m);
  });
});
