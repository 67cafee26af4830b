/**
 * Plug & Charge certificates through the OCPP 1.6 backend, as the Open Charge Alliance's
 * whitepaper "Using ISO 15118 Plug & Charge with OCPP 1.6" does it: a DataTransfer with vendor
 * id `org.openchargealliance.iso15118pnc` and message id `Get15118EVCertificate`, whose data is
 * the JSON text of OCPP 2.0.1's Get15118EVCertificateRequest ({ iso15118SchemaVersion, action:
 * Install | Update, exiRequest: base64 EXI }); the answer's data carries { status, exiResponse }.
 *
 * While the central system is not reachable, or answers without a certificate, the station's
 * configured provider (a directory, a command; app/pnc/) is asked instead, if it has one.
 */
import { type CertificateProvider, type CertificateRequest, withV2gtpHeader } from '../../machines/certificate-provider.js';
import type { OcppChargePoint } from './charge-point.js';

export const PNC_VENDOR_ID = 'org.openchargealliance.iso15118pnc';
const SCHEMA_VERSION = 'urn:iso:15118:2:2013:MsgDef';

/** The EXI request without its 8-byte V2GTP header (the backend gets the EXI message itself). */
function exiPayload(bytes: Uint8Array): Uint8Array {
  return bytes.length >= 8 && bytes[0] === 0x01 && bytes[1] === 0xfe ? bytes.subarray(8) : bytes;
}

export function ocppCertificateProvider(cp: OcppChargePoint, fallback?: CertificateProvider): CertificateProvider {
  const ask = async (request: CertificateRequest, action: 'Install' | 'Update'): Promise<Uint8Array | undefined> => {
    const other = (): Promise<Uint8Array | undefined> => (fallback ? (action === 'Install' ? fallback.install(request) : fallback.update(request)) : Promise.resolve(undefined));
    if (!cp.isOnline) return other();
    const data = JSON.stringify({ iso15118SchemaVersion: SCHEMA_VERSION, action, exiRequest: Buffer.from(exiPayload(request.exiRequest)).toString('base64') });
    const res = await cp.call('DataTransfer', { vendorId: PNC_VENDOR_ID, messageId: 'Get15118EVCertificate', data });
    if (res?.status !== 'Accepted' || typeof res.data !== 'string') return other();
    let answer: { status?: string; exiResponse?: string };
    try {
      answer = JSON.parse(res.data) as typeof answer;
    } catch {
      cp.log('OCPP: Get15118EVCertificate answer is not JSON');
      return other();
    }
    if (answer.status !== 'Accepted' || typeof answer.exiResponse !== 'string') {
      cp.log(`OCPP: Get15118EVCertificate ${action}: ${answer.status ?? 'no status'}`);
      return other();
    }
    return withV2gtpHeader(new Uint8Array(Buffer.from(answer.exiResponse, 'base64')));
  };
  return {
    name: `OCPP ${PNC_VENDOR_ID} Get15118EVCertificate${fallback ? `, else ${fallback.name}` : ''}`,
    install: (r) => ask(r, 'Install'),
    update: (r) => ask(r, 'Update'),
  };
}
