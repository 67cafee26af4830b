/** The scenario files: every shipped one validates, bad ones fail with the field named. */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { builtinScenarioPath, loadScenario, parseScenario } from '../../sim/index.js';

const SHIPPED = [
  'default-dc',
  'default-ac',
  'slow-precharge',
  'slac-retries',
  'missed-deadline',
  'pnc-cert-install',
  'id4-evready-false',
  'slow-slac-interface-flaps',
  'din-dc',
  'renegotiate',
  'pause-resume',
  'module-restart',
  'session-id-change',
];

describe('scenarios (sim/scenarios/*.json, zod)', () => {
  it('ships the named scenarios, and each validates', async () => {
    // Directories beside the files hold a scenario's station files (pnc-cert-install/).
    const files = readdirSync(new URL('../../sim/scenarios/', import.meta.url))
      .filter((f) => f.endsWith('.json'))
      .map((f) => f.replace(/\.json$/, ''));
    expect(files.sort()).toEqual([...SHIPPED].sort());
    for (const name of SHIPPED) {
      const s = await loadScenario(builtinScenarioPath(name));
      expect(s.name).toBe(name);
    }
  });

  it('fills defaults: {} is a plain session with the manual timeouts', () => {
    const s = parseScenario({});
    expect(s.ev.loopIntervalMs).toBe(220);
    expect(s.station.timeouts.chargeParameterMs).toBe(500);
    expect(s.cable.plugInAfterMs).toBe(1000);
  });

  it('names the bad field', () => {
    expect(() => parseScenario({ ev: { slacFailures: -1 } })).toThrow(/ev\.slacFailures/);
    expect(() => parseScenario({ ev: { energyTransferMode: 'dcFast' } })).toThrow(/ev\.energyTransferMode/);
    expect(() => parseScenario({ cable: { unplugIn: { phase: 'lunch' } } })).toThrow(/cable\.unplugIn\.phase/);
    expect(() => parseScenario({ station: { colour: 'red' } })).toThrow(/station/);
  });
});
