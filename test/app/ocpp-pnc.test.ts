/**
 * Plug & Charge certificates through the OCPP 1.6 backend (the OCA whitepaper's DataTransfer
 * Get15118EVCertificate): the central system gets the EV's EXI request without its V2GTP header
 * and the action, its EXI response comes back with the header; when it refuses or is away, the
 * station's configured provider answers. Authorize with the contract's certificate data, and the
 * CSMS-initiated certificate messages (answered, or refused with a reason).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { toPem } from '../../app/ocpp/certificate-hash.js';
import { builtinScenarioPath } from '../../sim/index.js';
import { makeCertFolder, tmp } from '../helpers/app-helpers.js';
import { phaseOf } from '../helpers/control-run.js';
import { withV2gtpHeader } from '../../machines/certificate-provider.js';
import { PNC_VENDOR_ID, ocppCertificateProvider } from '../../app/ocpp/certificate-provider.js';
import { type Csms, callsOf, startCsms } from '../helpers/csms.js';
import { type ControlRun, startControlRun } from '../helpers/control-run.js';

const opened: Array<{ run: ControlRun; csms: Csms }> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.run.close();
    await o.csms.stop();
  }
});

const request = (kind: 'installation' | 'update') => ({
  kind,
  exiRequest: withV2gtpHeader(Uint8Array.of(0x80, 0x98, 0x02)),
  evccId: '000101637731',
  timeoutMs: 4000,
  signal: new AbortController().signal,
});

describe('OCPP certificate provider', () => {
  it('asks the central system and returns its EXI response with a V2GTP header; falls back when refused', async () => {
    const csms = await startCsms();
    csms.handlers.DataTransfer = (p) => {
      const data = JSON.parse(String(p.data)) as { action: string };
      return data.action === 'Install'
        ? { status: 'Accepted', data: JSON.stringify({ status: 'Accepted', exiResponse: Buffer.from([0x80, 0x01, 0x02, 0x03]).toString('base64') }) }
        : { status: 'Accepted', data: JSON.stringify({ status: 'Failed' }) };
    };
    const run = await startControlRun({ ocpp: { url: csms.url() } });
    opened.push({ run, csms });
    const cp = run.plane.ocpp;
    if (!cp) throw new Error('no OCPP');
    await cp.booting();
    const fallback = { name: 'directory test', install: async () => undefined, update: async () => withV2gtpHeader(Uint8Array.of(9)) };
    const provider = ocppCertificateProvider(cp, fallback);
    expect(provider.name).toMatch(/Get15118EVCertificate, else directory test/);

    const installed = await provider.install(request('installation'));
    expect([...(installed ?? [])]).toEqual([0x01, 0xfe, 0x80, 0x01, 0, 0, 0, 4, 0x80, 0x01, 0x02, 0x03]);
    const [call] = callsOf(csms, 'DataTransfer');
    expect(call).toMatchObject({ vendorId: PNC_VENDOR_ID, messageId: 'Get15118EVCertificate' });
    expect(JSON.parse(String(call?.data))).toEqual({ iso15118SchemaVersion: 'urn:iso:15118:2:2013:MsgDef', action: 'Install', exiRequest: Buffer.from([0x80, 0x98, 0x02]).toString('base64') });

    // Refused by the backend: the configured provider answers.
    expect([...((await provider.update(request('update'))) ?? [])]).toEqual([0x01, 0xfe, 0x80, 0x01, 0, 0, 0, 1, 9]);
    expect(run.logs.some((l) => /Get15118EVCertificate Update: Failed/.test(l))).toBe(true);

    // Backend away: straight to the configured provider.
    await csms.stop();
    for (let i = 0; i < 100 && cp.isOnline; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await provider.install(request('installation'))).toBeUndefined();
    expect(callsOf(csms, 'DataTransfer')).toHaveLength(2);
  });
});

/** OCSP CertID fields of `cert` issued by `issuer` (PEM files) as openssl computes them: an independent check. */
function opensslCertId(dir: string, cert: string, issuer: string): { issuerNameHash: string; issuerKeyHash: string; serialNumber: string } {
  const text = execFileSync('openssl', ['ocsp', '-issuer', issuer, '-sha256', '-cert', cert, '-req_text', '-no_nonce'], { cwd: dir, encoding: 'utf8' });
  const field = (name: string): string => (new RegExp(`${name}: (\\S+)`).exec(text)?.[1] ?? '').toLowerCase();
  // OCPP 2.0.1 writes the serial number without leading zeroes; openssl prints whole bytes.
  return {
    issuerNameHash: field('Issuer Name Hash'),
    issuerKeyHash: field('Issuer Key Hash'),
    serialNumber: field('Serial Number')
      .toUpperCase()
      .replace(/^0+(?=.)/, ''),
  };
}

const pncData = (p: Record<string, unknown> | undefined) => JSON.parse(String(p?.data)) as Record<string, unknown>;

describe('OCPP Plug & Charge messages (whitepaper DataTransfer)', { timeout: 90_000 }, () => {
  const contractChain = (): string[] =>
    (JSON.parse(readFileSync(builtinScenarioPath('pnc-cert-install'), 'utf8')) as { ev: { pnc: { contractCertificateChain: string[] } } }).ev.pnc.contractCertificateChain;

  it("Authorize carries the EMAID and the contract chain's OCSP data; the idTokenInfo authorizes the session", async () => {
    const csms = await startCsms();
    csms.handlers.DataTransfer = (p) => (p.messageId === 'Authorize' ? { status: 'Accepted', data: JSON.stringify({ idTokenInfo: { status: 'Accepted' } }) } : { status: 'UnknownMessageId' });
    const run = await startControlRun({ ocpp: { url: csms.url(), queueFile: join(tmp(), 'q.jsonl') } }, { scenario: 'pnc-cert-install' });
    opened.push({ run, csms });
    await run.plane.ocpp?.booting();
    await run.paced(() => phaseOf(run, 'EVSE') === 'charging' && callsOf(csms, 'StartTransaction').length === 1, 600_000);
    expect(callsOf(csms, 'Authorize')).toEqual([]);
    const auth = callsOf(csms, 'DataTransfer').find((p) => p.messageId === 'Authorize');
    expect(auth).toMatchObject({ vendorId: PNC_VENDOR_ID });
    const data = pncData(auth);
    expect(data.idToken).toEqual({ idToken: 'DE8ACC12345678X', type: 'eMAID' });
    // Leaf (issued by sub-CA 2) and sub-CA 2 (issued by sub-CA 1); sub-CA 1's issuer, the MO root, is not in the chain.
    const dir = tmp();
    const [leaf, sub2, sub1] = contractChain().map((b64, i) => {
      const file = join(dir, `${i}.pem`);
      writeFileSync(file, toPem(new Uint8Array(Buffer.from(b64, 'base64'))));
      return file;
    }) as [string, string, string];
    expect(data.iso15118CertificateHashData).toEqual([
      { hashAlgorithm: 'SHA256', ...opensslCertId(dir, leaf, sub2), responderURL: '' },
      { hashAlgorithm: 'SHA256', ...opensslCertId(dir, sub2, sub1), responderURL: '' },
    ]);
    expect(callsOf(csms, 'StartTransaction')[0]).toMatchObject({ idTag: 'DE8ACC12345678X' });
  });

  it('an accepted token with a revoked contract certificate is not authorized: no transaction starts', async () => {
    const csms = await startCsms();
    csms.handlers.DataTransfer = () => ({ status: 'Accepted', data: JSON.stringify({ idTokenInfo: { status: 'Accepted' }, certificateStatus: 'CertificateRevoked' }) });
    const run = await startControlRun({ ocpp: { url: csms.url(), queueFile: join(tmp(), 'q.jsonl') } }, { scenario: 'pnc-cert-install' });
    opened.push({ run, csms });
    await run.plane.ocpp?.booting();
    const decided = () => run.emitted.EVSE.some((e) => e.type === 'authorization' && e.accepted !== undefined);
    await run.paced(decided, 600_000);
    expect(run.emitted.EVSE.find((e) => e.type === 'authorization' && e.accepted !== undefined)).toMatchObject({ emaid: 'DE8ACC12345678X', accepted: false });
    expect(callsOf(csms, 'StartTransaction')).toEqual([]);
    expect(run.logs).toContain('OCPP: PnC Authorize: token accepted but contract certificate CertificateRevoked: not authorized');
  });

  it('a CSMS without the PnC Authorize gets the EMAID as a plain id tag', async () => {
    const csms = await startCsms();
    csms.handlers.DataTransfer = () => ({ status: 'UnknownMessageId' });
    const run = await startControlRun({ ocpp: { url: csms.url(), queueFile: join(tmp(), 'q.jsonl') } }, { scenario: 'pnc-cert-install' });
    opened.push({ run, csms });
    await run.plane.ocpp?.booting();
    await run.paced(() => callsOf(csms, 'Authorize').length === 1, 600_000);
    expect(callsOf(csms, 'DataTransfer').map((p) => p.messageId)).toContain('Authorize');
    expect(callsOf(csms, 'Authorize')[0]).toEqual({ idTag: 'DE8ACC12345678X' });
  });

  it('CSMS-initiated: GetInstalledCertificateIds reports certs_folder; install, delete, signed and the CSR trigger are refused with a reason', async () => {
    const certs = makeCertFolder();
    const csms = await startCsms();
    const run = await startControlRun({ ocpp: { url: csms.url(), queueFile: join(tmp(), 'q.jsonl') } }, { certsFolder: certs });
    opened.push({ run, csms });
    await run.plane.ocpp?.booting();
    const ask = async (messageId: string, data: unknown) => {
      const res = await csms.call('DataTransfer', { vendorId: PNC_VENDOR_ID, messageId, data: JSON.stringify(data) });
      expect(res.status).toBe('Accepted');
      return pncData(res);
    };
    const crt = (n: string) => join(certs, `${n}.crt`);
    const installed = await ask('GetInstalledCertificateIds', { certificateType: ['V2GRootCertificate', 'MORootCertificate', 'V2GCertificateChain'] });
    expect(installed).toEqual({
      status: 'Accepted',
      certificateHashDataChain: [
        { certificateType: 'V2GRootCertificate', certificateHashData: { hashAlgorithm: 'SHA256', ...opensslCertId(certs, crt('3'), crt('3')) } },
        { certificateType: 'MORootCertificate', certificateHashData: { hashAlgorithm: 'SHA256', ...opensslCertId(certs, crt('moca'), crt('moca')) } },
        {
          certificateType: 'V2GCertificateChain',
          certificateHashData: { hashAlgorithm: 'SHA256', ...opensslCertId(certs, crt('0'), crt('1')) },
          childCertificateHashData: [
            { hashAlgorithm: 'SHA256', ...opensslCertId(certs, crt('1'), crt('2')) },
            { hashAlgorithm: 'SHA256', ...opensslCertId(certs, crt('2'), crt('3')) },
          ],
        },
      ],
    });
    expect(await ask('GetInstalledCertificateIds', { certificateType: ['CSMSRootCertificate'] })).toEqual({ status: 'NotFound' });
    const pem = readFileSync(crt('moca'), 'utf8');
    const refusal = { reasonCode: 'NotSupported', additionalInfo: expect.any(String) };
    expect(await ask('InstallCertificate', { certificateType: 'MORootCertificate', certificate: pem })).toEqual({ status: 'Rejected', statusInfo: refusal });
    const hash = (installed.certificateHashDataChain as Array<{ certificateHashData: unknown }>)[1]?.certificateHashData;
    expect(await ask('DeleteCertificate', { certificateHashData: hash })).toEqual({ status: 'Failed', statusInfo: refusal });
    expect(await ask('CertificateSigned', { certificateChain: pem })).toEqual({ status: 'Rejected', statusInfo: refusal });
    expect(await ask('TriggerMessage', { requestedMessage: 'SignV2GCertificate' })).toEqual({ status: 'Rejected', statusInfo: refusal });
    expect(await csms.call('DataTransfer', { vendorId: PNC_VENDOR_ID, messageId: 'NotifyCRL', data: '{}' })).toEqual({ status: 'UnknownMessageId' });
    expect(await csms.call('DataTransfer', { vendorId: 'com.example', messageId: 'Authorize' })).toEqual({ status: 'UnknownVendorId' });
    expect(run.logs).toContain('OCPP: PnC InstallCertificate -> Rejected (the module stores are written by freev2g certs install only)');
  });
});
