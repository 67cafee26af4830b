/**
 * The built-in `pnc-cert-install` scenario end to end through the CLI: the simulated car asks for
 * a certificate installation, the EVSE host answers it from the scenario's directory of prepared
 * responses, the car pays by contract, is authorized by its EMAID, charges; the record shows it.
 * With nothing to answer, the station refuses and the session ends on the module's error.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtinScenarioPath, loadScenario } from '../../sim/index.js';
import { runCli, tmp } from '../helpers/app-helpers.js';

interface Rec {
  station: string;
  paymentMethod?: string;
  contract?: { emaid: string; certificateChain: string[] };
  certificateService?: { kind: string; outcome: string };
  energyDeliveredWh: number;
  error?: { name: string };
}

const records = (file: string): Rec[] =>
  readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Rec);

describe('sim --scenario pnc-cert-install', () => {
  it('installs the certificate, authorizes by EMAID, charges, and records the contract (exit 0)', async () => {
    const rec = join(tmp(), 'records.jsonl');
    const r = await runCli(['sim', '--scenario', 'pnc-cert-install', '--speed', 'max', '--records', rec], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/EVSE \| Certificate installation: answered by directory .*pnc-cert-install\/responses \(\d+ bytes of EXI\)/);
    expect(r.stdout).toContain('EVSE | Contract: EMAID DE8ACC12345678X, certificate chain of 3');
    expect(r.stdout).toContain('EVSE | Vehicle was authorized by user!');
    const evse = records(rec).find((x) => x.station === 'EVSE');
    const scenario = await loadScenario(builtinScenarioPath('pnc-cert-install'));
    expect(evse).toMatchObject({
      paymentMethod: 'PnC',
      contract: { emaid: 'DE8ACC12345678X', certificateChain: scenario.ev.pnc?.contractCertificateChain },
      certificateService: { kind: 'installation', outcome: 'success' },
    });
    expect(evse?.error).toBeUndefined();
    expect(evse?.energyDeliveredWh).toBeGreaterThan(1000);
  }, 130_000);

  it('no prepared response: refused with certificate invalid in one line, the session ends on the error (exit 5)', async () => {
    const dir = tmp();
    const cfg = join(dir, 'evse.json');
    writeFileSync(cfg, JSON.stringify({ evse: { configuration: { payment_method: ['eim', 'pnc'] }, certificate_installation_support: true, certificate_provider: { directory: '.' } } }));
    const rec = join(dir, 'records.jsonl');
    const r = await runCli(['sim', '--scenario', 'pnc-cert-install', '-c', cfg, '--speed', 'max', '--records', rec], { timeoutMs: 60_000 });
    expect(r.code).toBe(5);
    const lines = r.stdout.split('\n').filter((l) => l.includes('answering certificate invalid'));
    expect(lines).toEqual([`EVSE | Certificate installation: directory ${dir} has no response for this request: answering certificate invalid`]);
    expect(records(rec).find((x) => x.station === 'EVSE')).toMatchObject({ certificateService: { kind: 'installation', outcome: 'certificateInvalid' }, energyDeliveredWh: 0 });
  }, 70_000);
});
