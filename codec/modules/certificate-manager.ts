/**
 * Certificate Manager, module 0x30 (manual chapter 20): the trust store (Sub-IDs 0x40-0x44,
 * status 0x80/0x81) and the module's own certificates, keys and OCSP responses (0x60-0x67,
 * status 0xA0/0xA1). Every command that changes a store is followed by an Index Synchronized
 * status; until it arrives the store refuses further commands.
 */
import { moduleDefs } from '../message.js';
import { bytes, enumU8, fixedBytes, fixedString, string, stripZeroPadding, struct, trailing, u16, u32, u64, u8, u8Range, zeroPad } from '../schema.js';
import { MAX_PAYLOAD_SIZE } from '../frame.js';

const { command, status } = moduleDefs('CertificateManager', 0x30);

/** 20.2.2 flags of a trust store entry (0x0100-0x8000 are reserved for the module's own use). */
export const TrustStoreFlag = { trustedImplicitly: 0x0001, trustedExplicitly: 0x0002, trustAnchor: 0x0004, revoked: 0x0008 } as const;
/** 20.2.7 flags of an own-certificate entry. */
export const OwnCertificateFlag = {
  caCertificate: 0x0001,
  selfSigned: 0x0002,
  certificateAvailable: 0x0004,
  privateKeyAvailable: 0x0008,
  ocspResponseAvailable: 0x0010,
} as const;
/** 20.2.7 permitted key usage (RFC 5280 key usage, extended key usage from bit 16). */
export const KeyUsage = {
  digitalSignature: 0x0000_0001,
  contentCommitment: 0x0000_0002,
  keyEncipherment: 0x0000_0004,
  dataEncipherment: 0x0000_0008,
  keyAgreement: 0x0000_0010,
  keyCertSign: 0x0000_0020,
  crlSign: 0x0000_0040,
  encipherOnly: 0x0000_0080,
  decipherOnly: 0x0000_0100,
  extAny: 0x0001_0000,
  extServerAuthentication: 0x0002_0000,
  extClientAuthentication: 0x0004_0000,
  extCodeSigning: 0x0008_0000,
  extEmailProtection: 0x0010_0000,
  extTimeStamping: 0x0020_0000,
  extOcspSigning: 0x0040_0000,
} as const;

/**
 * Public key algorithm. The manual numbers it two ways: 20.2.7 and both examples (trust store
 * "01 RSA Encryption", own "03 EC public key") count from 1, the 20.2.2/20.2.3/20.2.8 tables
 * from 0. These names follow the examples; the field accepts 0-3 so either numbering decodes.
 */
export const PublicKeyAlgorithm = { rsaEncryption: 1, rsassaPss: 2, ecPublicKey: 3 } as const;
/** 20.2.7 signature algorithm. */
export const SignatureAlgorithm = {
  rsassaPss: 1,
  sha1WithRsa: 2,
  sha256WithRsa: 3,
  sha384WithRsa: 4,
  sha512WithRsa: 5,
  sha1WithEcdsa: 6,
  sha256WithEcdsa: 7,
  sha384WithEcdsa: 8,
  sha512WithEcdsa: 9,
  x25519: 10,
  x448: 11,
  ed25519: 12,
  ed448: 13,
} as const;
/** Parameter bytes: RSASSA-PSS hash and MGF1 hash (0 undefined, 1 SHA1 ... 4 SHA512) then salt length; EC: curve. */
export const HashAlgorithm = { undefined: 0, sha1: 1, sha256: 2, sha384: 3, sha512: 4 } as const;
export const EllipticCurve = { none: 0, secp256r1: 1, secp384r1: 2, secp521r1: 3 } as const;

/**
 * 20.3.2 / 20.3.4: outcome of adding a certificate, key or OCSP response. The trust store lists
 * 0-3 and 8, the own store 0-7; one enumeration covers both.
 */
export const CERTIFICATE_STATUSES = [
  'loaded',
  'loadedPrivateKey',
  'noSuchFile',
  'invalidFile',
  'noSuchFilePrivateKey',
  'invalidFilePrivateKey',
  'noSuchFileOcsp',
  'invalidFileOcsp',
  'duplicate',
] as const;
const certificateStatus = enumU8(CERTIFICATE_STATUSES);

/** A store handle returned by Open; 255 (uint8_max) when the store does not exist. */
export const NO_HANDLE = 0xff;
/** Get Next Entry: 255 as the previous entry starts at the first; 255 back means no more entries. */
export const FIRST_ENTRY = 0xff;

/** 20.2.1 / 20.2.6: store directory, uint16 length prefix ("00 14 fat/testdata/cert/ts"). */
const storePath = string(1, 512, 'u16');
/**
 * 20.2.4, 20.2.9, 20.2.11, 20.2.13: DER data with a uint16 length. The table allows 1..65535,
 * but a frame carries at most 4088 payload bytes (10.3.1, 0xF5), of which 4 go to handle, entry
 * and length; the bound gives a typed error instead of an unsendable frame.
 */
const derData = bytes(1, MAX_PAYLOAD_SIZE - 4, 'u16');

/** 20.2.2: "always exactly 40 bytes long; padded with zeroes if it is smaller". */
const FILENAME_SIZE = 40;
const certificateFilename = fixedString(FILENAME_SIZE);
/** The file name of an entry without its zero padding. */
export const filenameText = (filename: string): string => stripZeroPadding(filename);
/** An entry file name as the wire field wants it (for simulated modules). */
export const paddedFilename = (name: string): string => zeroPad(name, FILENAME_SIZE);

const publicKey = { publicKeyAlgorithm: u8Range(0, 3), publicKeyParameters: fixedBytes(3) };
const validity = { notValidBefore: u64, notValidAfter: u64 };

/** 20.2.2 / 20.2.3: an entry of the trust store (timestamps are Unix time in seconds). */
const trustStoreEntry = struct({
  /** Certificate file name without extension: 40 bytes, zero-padded (see `filenameText`). */
  filename: certificateFilename,
  flags: u16,
  /** SHA-1 of the certificate. */
  certificateHash: fixedBytes(20),
  subjectRdnHashPrefix: fixedBytes(4),
  subjectKeyIdPrefix: fixedBytes(4),
  ...publicKey,
  ...validity,
  checksum: u16,
});

/** 20.2.7 / 20.2.8: an entry of the own certificate store. */
const ownCertificateEntry = struct({
  filename: certificateFilename,
  flags: u16,
  certificateHash: fixedBytes(20),
  subjectRdnHash: fixedBytes(20),
  publicKeyHash: fixedBytes(20),
  issuerRdnHashPrefix: fixedBytes(4),
  subjectKeyIdPrefix: fixedBytes(4),
  authorityKeyIdPrefix: fixedBytes(4),
  permittedKeyUsage: u32,
  ...publicKey,
  signatureAlgorithm: u8Range(0, 13),
  signatureParameters: fixedBytes(3),
  ...validity,
  /** OCSP response times; 0 when there is none. */
  ocspThisUpdate: u64,
  ocspNextUpdate: u64,
  checksum: u16,
});

const trustStore = u8;
const ownCertificateStore = u8;
const entry = u8;

export const CertificateManager = {
  TrustStoreOpen: command({ name: 'TrustStoreOpen', subId: 0x40, section: '20.2.1', request: { path: storePath }, response: { handle: u8 } }),
  TrustStoreGetCertificateInfo: command({
    name: 'TrustStoreGetCertificateInfo',
    subId: 0x41,
    section: '20.2.2',
    request: { trustStore, entry },
    response: { entry, info: trustStoreEntry },
  }),
  /**
   * 20.2.3: entry 255 in the response means the index is exhausted (Python reference); the
   * manual does not say whether the entry fields still follow then, so they are optional.
   */
  TrustStoreGetNextEntry: command({
    name: 'TrustStoreGetNextEntry',
    subId: 0x42,
    section: '20.2.3',
    request: { trustStore, entry },
    response: { entry, info: trailing(trustStoreEntry) },
  }),
  TrustStoreAddCertificate: command({ name: 'TrustStoreAddCertificate', subId: 0x43, section: '20.2.4', request: { trustStore, data: derData } }),
  TrustStoreRemoveCertificate: command({ name: 'TrustStoreRemoveCertificate', subId: 0x44, section: '20.2.5', request: { trustStore, entry } }),
  OwnCertificatesOpen: command({ name: 'OwnCertificatesOpen', subId: 0x60, section: '20.2.6', request: { path: storePath }, response: { handle: u8 } }),
  OwnCertificatesGetCertificateInfo: command({
    name: 'OwnCertificatesGetCertificateInfo',
    subId: 0x61,
    section: '20.2.7',
    request: { ownCertificateStore, entry },
    response: { entry, info: ownCertificateEntry },
  }),
  OwnCertificatesGetNextEntry: command({
    name: 'OwnCertificatesGetNextEntry',
    subId: 0x62,
    section: '20.2.8',
    request: { ownCertificateStore, entry },
    response: { entry, info: trailing(ownCertificateEntry) },
  }),
  /** 20.2.9: the response names the new entry (manual: "Handle"), used by Add Key. */
  OwnCertificatesAddCertificate: command({
    name: 'OwnCertificatesAddCertificate',
    subId: 0x63,
    section: '20.2.9',
    request: { ownCertificateStore, data: derData },
    response: { entry },
  }),
  OwnCertificatesRemoveCertificate: command({ name: 'OwnCertificatesRemoveCertificate', subId: 0x64, section: '20.2.10', request: { ownCertificateStore, entry } }),
  /** 20.2.11 (Sub-ID table: "Add Private Key"): a DER private key for an entry. */
  OwnCertificatesAddKey: command({ name: 'OwnCertificatesAddKey', subId: 0x65, section: '20.2.11', request: { ownCertificateStore, entry, data: derData } }),
  OwnCertificatesRemovePrivateKey: command({
    name: 'OwnCertificatesRemovePrivateKey',
    subId: 0x66,
    section: '20.2.12',
    request: { ownCertificateStore, entry },
  }),
  OwnCertificatesAddOcspResponse: command({
    name: 'OwnCertificatesAddOcspResponse',
    subId: 0x67,
    section: '20.2.13',
    request: { ownCertificateStore, entry, data: derData },
  }),
  TrustStoreIndexSynchronized: status({ name: 'TrustStoreIndexSynchronized', subId: 0x80, section: '20.3.1', payload: { trustStore } }),
  TrustStoreCertificateStatus: status({
    name: 'TrustStoreCertificateStatus',
    subId: 0x81,
    section: '20.3.2',
    payload: { trustStore, entry, status: certificateStatus },
  }),
  OwnCertificatesIndexSynchronized: status({ name: 'OwnCertificatesIndexSynchronized', subId: 0xa0, section: '20.3.3', payload: { ownCertificateStore } }),
  OwnCertificatesCertificateStatus: status({
    name: 'OwnCertificatesCertificateStatus',
    subId: 0xa1,
    section: '20.3.4',
    payload: { ownCertificateStore, entry, status: certificateStatus },
  }),
} as const;
