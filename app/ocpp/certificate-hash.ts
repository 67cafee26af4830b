/**
 * Certificate hash data as OCPP 2.0.1 names it (CertificateHashDataType, OCSPRequestDataType),
 * which the Plug & Charge whitepaper for OCPP 1.6 carries in DataTransfer: the fields of an OCSP
 * CertID (RFC 6960 4.1.1): SHA-256 of the issuer's distinguished name (DER, as the certificate
 * holds it) and of the issuer's public key (the BIT STRING's value), and the serial number, hex.
 *
 * Node's X509Certificate gives neither the issuer's DER nor the key's bits, so a few lines of
 * DER walking find them in the TBSCertificate (RFC 5280 4.1): version [0], serialNumber,
 * signature, issuer, validity, subject, subjectPublicKeyInfo.
 */
import { X509Certificate, createHash } from 'node:crypto';

export interface CertificateHashData {
  hashAlgorithm: 'SHA256';
  issuerNameHash: string;
  issuerKeyHash: string;
  serialNumber: string;
}

export interface OcspRequestData extends CertificateHashData {
  responderURL: string;
}

interface Tlv {
  tag: number;
  /** Where the element starts (its tag), where its content starts, where it ends. */
  at: number;
  start: number;
  end: number;
}

function tlv(der: Uint8Array, at: number): Tlv {
  const tag = der[at] ?? 0;
  let length = der[at + 1] ?? 0;
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes > 4) throw new Error('DER length too long');
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + (der[start++] ?? 0);
  }
  if (start + length > der.length) throw new Error('DER element runs past the end');
  return { tag, at, start, end: start + length };
}

/** The elements inside a constructed element. */
function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = tlv(der, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** Issuer name (DER), subject name (DER) and public key bits of a certificate. */
function parts(der: Uint8Array): { issuer: Uint8Array; subject: Uint8Array; keyBits: Uint8Array } {
  const [tbs] = children(der, tlv(der, 0));
  if (!tbs) throw new Error('not a certificate');
  const fields = children(der, tbs);
  // Version [0] is optional (v1 certificates): the serial number comes first then.
  const f = fields[0]?.tag === 0xa0 ? fields.slice(1) : fields;
  const [issuer, , subject, spki] = [f[2], f[3], f[4], f[5]];
  if (!issuer || !subject || !spki) throw new Error('certificate without issuer, subject or key');
  const key = children(der, spki)[1];
  if (key?.tag !== 0x03) throw new Error('certificate key is not a BIT STRING');
  return { issuer: der.subarray(issuer.at, issuer.end), subject: der.subarray(subject.at, subject.end), keyBits: der.subarray(key.start + 1, key.end) };
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Hash data of `cert` (DER), issued by `issuer` (DER). */
export function certificateHashData(cert: Uint8Array, issuer: Uint8Array): CertificateHashData {
  const c = parts(cert);
  const serial = new X509Certificate(cert).serialNumber.replace(/^0+(?=.)/, '');
  return { hashAlgorithm: 'SHA256', issuerNameHash: sha256(c.issuer), issuerKeyHash: sha256(parts(issuer).keyBits), serialNumber: serial };
}

/** The OCSP responder of a certificate (Authority Information Access), or '' without one. */
export function ocspResponder(cert: Uint8Array): string {
  const access = new X509Certificate(cert).infoAccess ?? '';
  return /OCSP - URI:(\S+)/.exec(access)?.[1] ?? '';
}

/**
 * OCSP request data of a chain given leaf first (the contract chain of Payment Selected): one
 * entry per certificate whose issuer is in the chain (the last one's issuer, the MO root, is not).
 */
export function chainOcspData(chainLeafFirst: Uint8Array[]): OcspRequestData[] {
  return chainLeafFirst.slice(0, -1).map((cert, i) => ({ ...certificateHashData(cert, chainLeafFirst[i + 1] as Uint8Array), responderURL: ocspResponder(cert) }));
}

/** Whether `cert` names `issuer` as its issuer (DN bytes equal): a self-signed root names itself. */
export function issuedBy(cert: Uint8Array, issuer: Uint8Array): boolean {
  return Buffer.from(parts(cert).issuer).equals(Buffer.from(parts(issuer).subject));
}

export function toPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN CERTIFICATE-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END CERTIFICATE-----\n`;
}
