/**
 * The simulated car's Plug & Charge side, at message level: the contract it sends with Payment
 * Details and the opaque EXI request of a certificate installation/update (no EXI codec: a V2GTP
 * header and a body that names the request; the station's host treats it as bytes anyway).
 */
import type { Scenario } from '../scenario.js';
import type { V2gKind, V2gRequest } from '../v2g-messages.js';

type Pnc = NonNullable<Scenario['ev']['pnc']>;

function v2gtp(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out.set([0x01, 0xfe, 0x80, 0x01], 0);
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

/** The certificate request the car sends, if any ('none': it has its contract already). */
export function certificateRequestKind(pnc: Pnc | undefined): V2gKind | undefined {
  if (!pnc || pnc.certificateRequest === 'none') return undefined;
  return pnc.certificateRequest === 'installation' ? 'certificateInstallation' : 'certificateUpdate';
}

/** Stands in for the EXI CertificateInstallationReq/CertificateUpdateReq of this car. */
export function carExiRequest(kind: V2gKind, evccId: Uint8Array): Uint8Array {
  const name = kind === 'certificateUpdate' ? 'CertificateUpdateReq' : 'CertificateInstallationReq';
  return v2gtp(new Uint8Array([...new TextEncoder().encode(`${name} `), ...evccId]));
}

/** Payment Details: the contract as Payment Selected (18.12.2) reports it. */
export function carContract(pnc: Pnc): NonNullable<V2gRequest['contract']> {
  const [leaf, sub2, sub1] = pnc.contractCertificateChain.map((b64) => new Uint8Array(Buffer.from(b64, 'base64')));
  return { contractCertificate: leaf ?? new Uint8Array(0), moSubCa2: sub2 ?? new Uint8Array(0), moSubCa1: sub1 ?? new Uint8Array(0), emaid: pnc.emaid };
}
