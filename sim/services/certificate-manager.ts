/**
 * Certificate Manager (chapter 20): a trust store and an own-certificate store held in memory.
 * Adding or removing makes the store busy for a moment (21.8.12: "if busy is returned ... issue
 * it again later"; "wait for the synchronization after a certificate was added"), then the
 * module reports the certificate status (20.3.2/20.3.4) and the index synchronisation
 * (20.3.1/20.3.3). Certificate info fields are derived from the DER bytes (hashes), not parsed.
 */
import { createHash } from 'node:crypto';
import { CertificateManager, FIRST_ENTRY, OwnCertificateFlag, TrustStoreFlag, paddedFilename } from '../../codec/modules/certificate-manager.js';
import { ResultCode } from '../../codec/message.js';
import { type ModuleContext, type Service, fail, ok } from '../module.js';

/** How long a store is busy indexing after a change. */
export const INDEX_SYNC_MS = 100;
const STATUS = { loaded: 0, loadedPrivateKey: 1, duplicate: 8 } as const;

interface Entry {
  der: Uint8Array;
  key?: Uint8Array;
}

const sha1 = (b: Uint8Array): Uint8Array => new Uint8Array(createHash('sha1').update(b).digest());

class Store {
  readonly entries = new Map<number, Entry>();
  busyUntil = 0;
  nextIndex(): number {
    let i = 0;
    while (this.entries.has(i)) i++;
    return i;
  }
  /** The entry after `after` (255 = from the start), or undefined. */
  next(after: number): number | undefined {
    const keys = [...this.entries.keys()].sort((a, b) => a - b);
    return keys.find((k) => after === FIRST_ENTRY || k > after);
  }
}

function trustInfo(index: number, e: Entry) {
  const h = sha1(e.der);
  return {
    filename: paddedFilename(`cert${index}`),
    flags: TrustStoreFlag.trustedExplicitly,
    certificateHash: h,
    subjectRdnHashPrefix: h.slice(0, 4),
    subjectKeyIdPrefix: h.slice(4, 8),
    publicKeyAlgorithm: 3,
    publicKeyParameters: Uint8Array.of(1, 0, 0),
    notValidBefore: 1_700_000_000,
    notValidAfter: 2_000_000_000,
    checksum: (h[0] ?? 0) * 256 + (h[1] ?? 0),
  };
}

function ownInfo(index: number, e: Entry) {
  const h = sha1(e.der);
  return {
    filename: paddedFilename(`own${index}`),
    flags: OwnCertificateFlag.certificateAvailable | (e.key ? OwnCertificateFlag.privateKeyAvailable : 0),
    certificateHash: h,
    subjectRdnHash: h,
    publicKeyHash: h,
    issuerRdnHashPrefix: h.slice(0, 4),
    subjectKeyIdPrefix: h.slice(4, 8),
    authorityKeyIdPrefix: h.slice(8, 12),
    permittedKeyUsage: 1,
    publicKeyAlgorithm: 3,
    publicKeyParameters: Uint8Array.of(1, 0, 0),
    signatureAlgorithm: 7,
    signatureParameters: Uint8Array.of(0, 0, 0),
    notValidBefore: 1_700_000_000,
    notValidAfter: 2_000_000_000,
    ocspThisUpdate: 0,
    ocspNextUpdate: 0,
    checksum: (h[0] ?? 0) * 256 + (h[1] ?? 0),
  };
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export function createCertificateService(ctx: ModuleContext): Service {
  const trust = new Store();
  const own = new Store();
  const TRUST_HANDLE = 0;
  const OWN_HANDLE = 1;
  let trustOpen = false;
  let ownOpen = false;

  const store = (handle: number): Store | undefined => (handle === TRUST_HANDLE && trustOpen ? trust : handle === OWN_HANDLE && ownOpen ? own : undefined);
  const busy = (s: Store): boolean => ctx.clock.now() < s.busyUntil;

  /** After a change: busy, then status (when given) and index synchronised. */
  const sync = (s: Store, status?: { entry: number; status: number }): void => {
    s.busyUntil = ctx.clock.now() + INDEX_SYNC_MS;
    ctx.clock.setTimeout(() => {
      if (s === trust) {
        if (status) ctx.emit(CertificateManager.TrustStoreCertificateStatus, { trustStore: TRUST_HANDLE, ...status });
        ctx.emit(CertificateManager.TrustStoreIndexSynchronized, { trustStore: TRUST_HANDLE });
      } else {
        if (status) ctx.emit(CertificateManager.OwnCertificatesCertificateStatus, { ownCertificateStore: OWN_HANDLE, ...status });
        ctx.emit(CertificateManager.OwnCertificatesIndexSynchronized, { ownCertificateStore: OWN_HANDLE });
      }
    }, INDEX_SYNC_MS);
  };

  const add = (s: Store | undefined, der: Uint8Array): { code: number; entry?: number } => {
    if (!s) return { code: ResultCode.unexpectedMessage };
    if (busy(s)) return { code: ResultCode.busy };
    const dup = [...s.entries].find(([, e]) => same(e.der, der));
    if (dup) {
      sync(s, { entry: dup[0], status: STATUS.duplicate });
      return { code: 0, entry: dup[0] };
    }
    const entry = s.nextIndex();
    s.entries.set(entry, { der });
    sync(s, { entry, status: STATUS.loaded });
    return { code: 0, entry };
  };

  const remove = (s: Store | undefined, entry: number) => {
    if (!s) return fail(ResultCode.unexpectedMessage);
    if (busy(s)) return fail(ResultCode.busy);
    if (!s.entries.delete(entry)) return fail(ResultCode.malformedData);
    sync(s);
    return ok();
  };

  const f = (m: { fields: Record<string, unknown> }, k: string): number => m.fields[k] as number;

  return {
    module: 'CertificateManager',
    handlers: {
      TrustStoreOpen: () => {
        trustOpen = true;
        return ok({ handle: TRUST_HANDLE });
      },
      TrustStoreGetCertificateInfo: (m) => {
        const e = store(f(m, 'trustStore'))?.entries.get(f(m, 'entry'));
        return e ? ok({ entry: f(m, 'entry'), info: trustInfo(f(m, 'entry'), e) }) : fail(ResultCode.malformedData);
      },
      TrustStoreGetNextEntry: (m) => {
        const s = store(f(m, 'trustStore'));
        if (!s) return fail(ResultCode.unexpectedMessage);
        const n = s.next(f(m, 'entry'));
        const e = n === undefined ? undefined : s.entries.get(n);
        return n === undefined || !e ? ok({ entry: FIRST_ENTRY }) : ok({ entry: n, info: trustInfo(n, e) });
      },
      TrustStoreAddCertificate: (m) => {
        const r = add(store(f(m, 'trustStore')), m.fields.data as Uint8Array);
        return r.code === 0 ? ok() : fail(r.code);
      },
      TrustStoreRemoveCertificate: (m) => remove(store(f(m, 'trustStore')), f(m, 'entry')),
      OwnCertificatesOpen: () => {
        ownOpen = true;
        return ok({ handle: OWN_HANDLE });
      },
      OwnCertificatesGetCertificateInfo: (m) => {
        const e = store(f(m, 'ownCertificateStore'))?.entries.get(f(m, 'entry'));
        return e ? ok({ entry: f(m, 'entry'), info: ownInfo(f(m, 'entry'), e) }) : fail(ResultCode.malformedData);
      },
      OwnCertificatesGetNextEntry: (m) => {
        const s = store(f(m, 'ownCertificateStore'));
        if (!s) return fail(ResultCode.unexpectedMessage);
        const n = s.next(f(m, 'entry'));
        const e = n === undefined ? undefined : s.entries.get(n);
        return n === undefined || !e ? ok({ entry: FIRST_ENTRY }) : ok({ entry: n, info: ownInfo(n, e) });
      },
      OwnCertificatesAddCertificate: (m) => {
        const r = add(store(f(m, 'ownCertificateStore')), m.fields.data as Uint8Array);
        return r.code === 0 ? ok({ entry: r.entry }) : fail(r.code);
      },
      OwnCertificatesRemoveCertificate: (m) => remove(store(f(m, 'ownCertificateStore')), f(m, 'entry')),
      OwnCertificatesAddKey: (m) => {
        const s = store(f(m, 'ownCertificateStore'));
        const e = s?.entries.get(f(m, 'entry'));
        if (!s || !e) return fail(s ? ResultCode.malformedData : ResultCode.unexpectedMessage);
        if (busy(s)) return fail(ResultCode.busy);
        e.key = m.fields.data as Uint8Array;
        sync(s, { entry: f(m, 'entry'), status: STATUS.loadedPrivateKey });
        return ok();
      },
      OwnCertificatesRemovePrivateKey: (m) => {
        const s = store(f(m, 'ownCertificateStore'));
        const e = s?.entries.get(f(m, 'entry'));
        if (!s || !e?.key) return fail(s ? ResultCode.malformedData : ResultCode.unexpectedMessage);
        delete e.key;
        sync(s);
        return ok();
      },
    },
    reset() {
      // The stores live in the module's file system and survive a restart; handles do not.
      trustOpen = false;
      ownOpen = false;
    },
  };
}
