/**
 * Plug & Charge certificates through the OCPP 1.6 backend (the OCA whitepaper's DataTransfer
 * Get15118EVCertificate): the central system gets the EV's EXI request without its V2GTP header
 * and the action, its EXI response comes back with the header; when it refuses or is away, the
 * station's configured provider answers.
 */
import { afterEach, describe, expect, it } from 'vitest';
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
