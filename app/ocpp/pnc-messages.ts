/**
 * The Plug & Charge messages of the Open Charge Alliance's whitepaper "Using ISO 15118 Plug &
 * Charge with OCPP 1.6" besides Get15118EVCertificate (certificate-provider.ts): each is a
 * DataTransfer with vendor id `org.openchargealliance.iso15118pnc`, the message id of OCPP
 * 2.0.1's message, and data = the JSON text of that message's payload.
 *
 * - Authorize (CP -> CS): the contract's EMAID as idToken, with the OCSP request data of the
 *   contract chain (iso15118CertificateHashData), or the chain itself (PEM) when no hash data can
 *   be made; the answer's idTokenInfo decides.
 * - CSMS-initiated: GetInstalledCertificateIds reports the certificates of the station's
 *   certs_folder (what `freev2g certs install` puts on the module). The module's stores are
 *   written only by `certs install` with the module otherwise idle, and the SECC key never
 *   leaves it, so InstallCertificate, DeleteCertificate, CertificateSigned and a TriggerMessage
 *   for SignV2GCertificate are refused, each with the reason (statusInfo), never ignored.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CertificateHashData, certificateHashData, chainOcspData, issuedBy, toPem } from './certificate-hash.js';
import type { OcppChargePoint } from './charge-point.js';
import { PNC_VENDOR_ID } from './certificate-provider.js';

type Params = Record<string, unknown>;

/** The contract of Payment Selected as the session logs it (base64 DER, leaf first). */
export interface ContractData {
  emaid: string;
  certificateChain: string[];
}

const der = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, 'base64'));

/** The Authorize request's data (OCPP 2.0.1 AuthorizeRequest, as the whitepaper carries it). */
export function pncAuthorizeRequest(contract: ContractData): Params {
  const chain = contract.certificateChain.map(der);
  let hashData: ReturnType<typeof chainOcspData> = [];
  try {
    hashData = chainOcspData(chain).slice(0, 4);
  } catch {
    hashData = []; // a chain the host cannot read: the CSMS gets the certificates instead
  }
  return {
    idToken: { idToken: contract.emaid, type: 'eMAID' },
    ...(hashData.length > 0 ? { iso15118CertificateHashData: hashData } : chain.length > 0 ? { certificate: chain.map(toPem).join('') } : {}),
  };
}

/**
 * Authorize with certificate data. The idTokenInfo's status ('Accepted', 'Invalid', ...), or
 * undefined when the CSMS does not take the PnC message (then the plain Authorize is used).
 */
export async function pncAuthorize(cp: OcppChargePoint, contract: ContractData): Promise<string | undefined> {
  const res = await cp.call('DataTransfer', { vendorId: PNC_VENDOR_ID, messageId: 'Authorize', data: JSON.stringify(pncAuthorizeRequest(contract)) });
  if (res?.status !== 'Accepted' || typeof res.data !== 'string') return undefined;
  let answer: { idTokenInfo?: { status?: string }; certificateStatus?: string };
  try {
    answer = JSON.parse(res.data) as typeof answer;
  } catch {
    cp.log('OCPP: PnC Authorize answer is not JSON');
    return undefined;
  }
  const status = answer.idTokenInfo?.status;
  if (typeof status !== 'string') return undefined;
  // A contract certificate the CSMS found revoked or expired is not accepted, whatever the token.
  const certificate = answer.certificateStatus;
  if (status === 'Accepted' && certificate !== undefined && certificate !== 'Accepted') {
    cp.log(`OCPP: PnC Authorize: token accepted but contract certificate ${certificate}: not authorized`);
    return certificate;
  }
  return status;
}

// --- what the central system may ask -----------------------------------------------------------

const refused = (status: string, why: string): Params => ({ status, statusInfo: { reasonCode: 'NotSupported', additionalInfo: why.slice(0, 512) } });
const NO_STORE_WRITES = 'the module stores are written by freev2g certs install only';

type Certificate = { file: string; der: Uint8Array };

function readCert(folder: string, name: string): Certificate | undefined {
  const file = join(folder, name);
  if (!existsSync(file)) return undefined;
  try {
    return { file, der: new Uint8Array(new X509Certificate(readFileSync(file)).raw) };
  } catch {
    return undefined;
  }
}

/** GetInstalledCertificateIds over the certs_folder files (names of app/certs.ts: 3.crt root, 2/1 sub-CAs, 0.crt leaf, moca.crt MO root). */
function installedCertificates(folder: string, types: string[] | undefined): Params {
  const [leaf, sub1, sub2, root, moRoot] = ['0.crt', '1.crt', '2.crt', '3.crt', 'moca.crt'].map((n) => readCert(folder, n));
  const rootData = (c: Certificate | undefined): CertificateHashData | undefined => (c && issuedBy(c.der, c.der) ? certificateHashData(c.der, c.der) : undefined);
  const entries: Params[] = [];
  const want = (t: string): boolean => !types || types.length === 0 || types.includes(t);
  const v2gRoot = rootData(root);
  if (want('V2GRootCertificate') && v2gRoot) entries.push({ certificateType: 'V2GRootCertificate', certificateHashData: v2gRoot });
  const mo = rootData(moRoot);
  if (want('MORootCertificate') && mo) entries.push({ certificateType: 'MORootCertificate', certificateHashData: mo });
  if (want('V2GCertificateChain') && leaf && sub1 && sub2) {
    entries.push({
      certificateType: 'V2GCertificateChain',
      certificateHashData: certificateHashData(leaf.der, sub1.der),
      childCertificateHashData: [certificateHashData(sub1.der, sub2.der), ...(root ? [certificateHashData(sub2.der, root.der)] : [])],
    });
  }
  return entries.length > 0 ? { status: 'Accepted', certificateHashDataChain: entries } : { status: 'NotFound' };
}

const CSMS_MESSAGES: Record<string, (cp: OcppChargePoint, data: Params) => Params> = {
  GetInstalledCertificateIds: (cp, d) => installedCertificates(cp.certsFolder, d.certificateType as string[] | undefined),
  InstallCertificate: () => refused('Rejected', NO_STORE_WRITES),
  DeleteCertificate: () => refused('Failed', NO_STORE_WRITES),
  CertificateSigned: () => refused('Rejected', 'no certificate signing request was made: the SECC key is installed with freev2g certs install'),
  TriggerMessage: (_cp, d) =>
    d.requestedMessage === 'SignV2GCertificate' ? refused('Rejected', 'the SECC key stays on the module: no CSR can be made') : refused('NotImplemented', 'only SignV2GCertificate is a PnC trigger'),
};

/** A DataTransfer of the PnC vendor id from the CSMS: the answer (DataTransfer.conf). */
export function pncCsmsRequest(cp: OcppChargePoint, messageId: unknown, data: unknown): Params {
  const handler = typeof messageId === 'string' ? CSMS_MESSAGES[messageId] : undefined;
  if (!handler) return { status: 'UnknownMessageId' };
  let payload: Params;
  try {
    payload = (typeof data === 'string' && data !== '' ? JSON.parse(data) : {}) as Params;
  } catch {
    cp.log(`OCPP: PnC ${String(messageId)}: data is not JSON`);
    return { status: 'Rejected' };
  }
  const reply = handler(cp, payload);
  cp.log(`OCPP: PnC ${String(messageId)} -> ${String(reply.status)}${reply.statusInfo ? ` (${(reply.statusInfo as { additionalInfo: string }).additionalInfo})` : ''}`);
  return { status: 'Accepted', data: JSON.stringify(reply) };
}

export const PNC_CSMS_MESSAGES = Object.keys(CSMS_MESSAGES);
