/**
 * Certificates for Plug & Charge on an EVSE module (Certificate Manager, manual chapter 20 and
 * 21.8.12): replace the SECC certificate chain with 0.crt + 0.key (SECC leaf and its key), 1.crt,
 * 2.crt (CPO sub-CAs), 3.crt (V2G root), and the mobility operator roots with moca.crt.
 *
 * Every file is read and checked (PEM or DER; certificates parsed as X.509, the key as a private
 * key; the key matches 0.crt and the chain links 0 -> 1 -> 2 -> 3) before anything on the module
 * is removed, so a missing, broken or mismatched file leaves the module as it was. The private key is never logged; captures mask it (capture.ts).
 */
import { type KeyObject, X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { CertificateManager, FIRST_ENTRY, NO_HANDLE, filenameText } from '../codec/modules/certificate-manager.js';
import type { HciClient } from '../machines/hci-types.js';

/** Store paths the reference uses (FreeV2G plug_and_charge: Whitebeet.py). */
export const OWN_STORE = 'fs/cert/v2g/own/shared';
export const MO_TRUST_STORE = 'fs/cert/v2g/trusted/mo';
/** The chain in the order it is added: root first, the SECC leaf (with its key) last. */
export const CHAIN_FILES = ['3.crt', '2.crt', '1.crt', '0.crt'] as const;
export const KEY_FILE = '0.key';
export const MO_ROOT_FILE = 'moca.crt';
const SYNC_TIMEOUT_MS = 30_000;
const OPEN_SYNC_TIMEOUT_MS = 2_000;
/** Busy (0x01) answers while a store indexes are retried this long (21.8.12). */
const BUSY_DEADLINE_MS = 10_000;

export class CertFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'CertFileError';
  }
}

export interface CertBundle {
  /** DER certificates in the order they are added (3, 2, 1, 0). */
  chain: Array<{ file: string; der: Uint8Array }>;
  key: { file: string; der: Uint8Array };
  moRoot: { file: string; der: Uint8Array };
}

/** PEM blocks of a label family, decoded; undefined when the text is not PEM. */
function pemBlocks(text: string): Array<{ label: string; der: Uint8Array }> | undefined {
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  const out: Array<{ label: string; der: Uint8Array }> = [];
  for (const m of text.matchAll(re)) out.push({ label: m[1] as string, der: new Uint8Array(Buffer.from((m[2] as string).replace(/\s+/g, ''), 'base64')) });
  return out.length > 0 ? out : undefined;
}

function readFile(folder: string, name: string): { path: string; bytes: Buffer } {
  const path = join(folder, name);
  if (!existsSync(path)) throw new CertFileError(path, 'missing');
  return { path, bytes: readFileSync(path) };
}

/** A certificate file as DER, checked by parsing it as X.509. */
export function readCertificate(folder: string, name: string): { file: string; der: Uint8Array } {
  const { path, bytes } = readFile(folder, name);
  const text = bytes.toString('latin1');
  let der: Uint8Array;
  if (text.includes('-----BEGIN')) {
    const cert = pemBlocks(text)?.find((b) => b.label === 'CERTIFICATE');
    if (!cert) throw new CertFileError(path, 'PEM file without a CERTIFICATE block');
    der = cert.der;
  } else der = new Uint8Array(bytes);
  try {
    new X509Certificate(der);
  } catch (e) {
    throw new CertFileError(path, `not a valid X.509 certificate (${e instanceof Error ? e.message : String(e)})`);
  }
  return { file: path, der };
}

type KeyEncoding = 'sec1' | 'pkcs8' | 'pkcs1';

/** The key of a DER blob in the first of `types` that parses; undefined when none does. */
function parsePrivateKey(der: Uint8Array, types: readonly KeyEncoding[] = ['sec1', 'pkcs8', 'pkcs1']): KeyObject | undefined {
  for (const type of types) {
    try {
      return createPrivateKey({ key: Buffer.from(der), format: 'der', type });
    } catch {
      // try the next encoding
    }
  }
  return undefined;
}

/**
 * The private key as DER, as the module takes it (20.2.11; the manual's example is an SEC1 EC
 * key, "30 77 02 01 ..."). PEM "EC PRIVATE KEY" and "PRIVATE KEY" (PKCS#8) are unwrapped as they
 * are; encrypted keys are refused (the module cannot decrypt them).
 */
export function readPrivateKey(folder: string, name: string): { file: string; der: Uint8Array } {
  const { path, bytes } = readFile(folder, name);
  const text = bytes.toString('latin1');
  let der: Uint8Array;
  let types: KeyEncoding[];
  if (text.includes('-----BEGIN')) {
    const blocks = pemBlocks(text) ?? [];
    if (blocks.some((b) => b.label === 'ENCRYPTED PRIVATE KEY')) throw new CertFileError(path, 'the key is encrypted; the module needs it unencrypted');
    const block = blocks.find((b) => /PRIVATE KEY$/.test(b.label));
    if (!block) throw new CertFileError(path, 'PEM file without a PRIVATE KEY block');
    der = block.der;
    types = [block.label === 'EC PRIVATE KEY' ? 'sec1' : block.label === 'RSA PRIVATE KEY' ? 'pkcs1' : 'pkcs8'];
  } else {
    der = new Uint8Array(bytes);
    // DER files do not say their type: accept any of the usual ones.
    types = ['sec1', 'pkcs8', 'pkcs1'];
  }
  if (!parsePrivateKey(der, types)) {
    throw new CertFileError(path, 'not a valid private key (PEM or DER, SEC1/PKCS#8, unencrypted)');
  }
  return { file: path, der };
}

const spki = (key: KeyObject): Buffer => key.export({ type: 'spki', format: 'der' });

/**
 * The bundle is one chain: 0.key is the key of 0.crt, and each certificate is issued and signed
 * by the next (0 -> 1 -> 2 -> 3), 3.crt (the V2G root) by itself. A bundle that does not link
 * would be installed and then fail every TLS handshake, so it is refused before any change.
 */
export function checkChain(bundle: CertBundle): void {
  const [c3, c2, c1, c0] = bundle.chain.map((c) => ({ file: c.file, x509: new X509Certificate(c.der) }));
  if (!c0 || !c1 || !c2 || !c3) throw new CertFileError(bundle.chain[0]?.file ?? KEY_FILE, 'incomplete chain');
  const key = parsePrivateKey(bundle.key.der);
  if (!key) throw new CertFileError(bundle.key.file, 'not a valid private key');
  const publicOfKey = spki(createPublicKey(key));
  if (!publicOfKey.equals(spki(c0.x509.publicKey))) throw new CertFileError(bundle.key.file, `does not match the certificate ${c0.file}`);
  const dn = (text: string): string => text.split('\n').join(', ');
  for (const [child, issuer] of [
    [c0, c1],
    [c1, c2],
    [c2, c3],
  ] as const) {
    if (!child.x509.checkIssued(issuer.x509) || !child.x509.verify(issuer.x509.publicKey)) {
      throw new CertFileError(child.file, `is not issued by ${issuer.file} (its issuer is "${dn(child.x509.issuer)}", ${issuer.file} is "${dn(issuer.x509.subject)}")`);
    }
  }
  if (!c3.x509.checkIssued(c3.x509) || !c3.x509.verify(c3.x509.publicKey))
    throw new CertFileError(c3.file, `is not self-signed: the V2G root must be (it is "${dn(c3.x509.subject)}", issued by "${dn(c3.x509.issuer)}")`);
}

/** Reads and checks every file and the chain; throws CertFileError naming the first bad one. */
export function readCertBundle(folder: string): CertBundle {
  if (!existsSync(folder)) throw new CertFileError(folder, 'folder missing');
  const chain = CHAIN_FILES.map((f) => readCertificate(folder, f));
  const key = readPrivateKey(folder, KEY_FILE);
  const moRoot = readCertificate(folder, MO_ROOT_FILE);
  const bundle = { chain, key, moRoot };
  checkChain(bundle);
  return bundle;
}

type Log = (text: string) => void;

export interface StoreOptions {
  /** How long to wait for the Index Synchronized announced after Open (real ms). */
  openSyncTimeoutMs?: number;
}
const opts = { busyDeadlineMs: BUSY_DEADLINE_MS, timeoutMs: 5000 };

/** Waits for the store's Index Synchronized status (20.3.1 / 20.3.3). */
function synced(client: HciClient, own: boolean, handle: number, timeoutMs = SYNC_TIMEOUT_MS): Promise<unknown> {
  const type = own ? 'CertificateManager.OwnCertificatesIndexSynchronized' : 'CertificateManager.TrustStoreIndexSynchronized';
  const field = own ? 'ownCertificateStore' : 'trustStore';
  return firstValueFrom(
    client.status$.pipe(
      filter((s) => s.type === type && s.fields[field] === handle),
      timeout({ first: timeoutMs }),
    ),
  );
}

/** Runs a store-changing command and waits for the index to synchronise again. */
async function changing<T>(client: HciClient, own: boolean, handle: number, send: () => Promise<T>): Promise<T> {
  const sync = synced(client, own, handle);
  sync.catch(() => undefined);
  const result = await send();
  await sync;
  return result;
}

async function openStore(client: HciClient, own: boolean, path: string, openSyncTimeoutMs = OPEN_SYNC_TIMEOUT_MS): Promise<number> {
  const def = own ? CertificateManager.OwnCertificatesOpen : CertificateManager.TrustStoreOpen;
  // Open is answered with the handle; the Index Synchronized for that handle follows.
  const statusType = own ? 'CertificateManager.OwnCertificatesIndexSynchronized' : 'CertificateManager.TrustStoreIndexSynchronized';
  const seen: unknown[] = [];
  const sub = client.status$.pipe(filter((s) => s.type === statusType)).subscribe((s) => seen.push(s.fields));
  try {
    const res = await client.request(def, { path }, opts);
    if (res.handle === NO_HANDLE) throw new Error(`${path}: no such store on the module`);
    const field = own ? 'ownCertificateStore' : 'trustStore';
    // 20.2.1/20.2.6 announce an Index Synchronized after Open; like the reference, go on without
    // it after a while (a store that is already indexed may not send one).
    if (!seen.some((f) => (f as Record<string, unknown>)[field] === res.handle)) {
      await synced(client, own, res.handle, openSyncTimeoutMs).catch(() => undefined);
    }
    return res.handle;
  } finally {
    sub.unsubscribe();
  }
}

interface StoreEntry {
  entry: number;
  name?: string;
  flags?: number;
  notValidAfter?: number;
}

async function listStore(client: HciClient, own: boolean, handle: number): Promise<StoreEntry[]> {
  const out: StoreEntry[] = [];
  let after = FIRST_ENTRY;
  for (let i = 0; i < 256; i++) {
    const res = own
      ? await client.request(CertificateManager.OwnCertificatesGetNextEntry, { ownCertificateStore: handle, entry: after }, opts)
      : await client.request(CertificateManager.TrustStoreGetNextEntry, { trustStore: handle, entry: after }, opts);
    if (res.entry === FIRST_ENTRY) break;
    const info = res.info as { filename?: string; flags?: number; notValidAfter?: number } | undefined;
    out.push({
      entry: res.entry,
      ...(info?.filename !== undefined ? { name: filenameText(info.filename) } : {}),
      ...(info?.flags !== undefined ? { flags: info.flags } : {}),
      ...(info?.notValidAfter !== undefined ? { notValidAfter: info.notValidAfter } : {}),
    });
    after = res.entry;
  }
  return out;
}

async function removeAll(client: HciClient, own: boolean, handle: number, log: Log): Promise<number> {
  const entries = await listStore(client, own, handle);
  for (const e of entries) {
    log(`  remove entry ${e.entry}${e.name ? ` (${e.name})` : ''}`);
    await changing(client, own, handle, () =>
      own
        ? client.request(CertificateManager.OwnCertificatesRemoveCertificate, { ownCertificateStore: handle, entry: e.entry }, opts)
        : client.request(CertificateManager.TrustStoreRemoveCertificate, { trustStore: handle, entry: e.entry }, opts),
    );
  }
  return entries.length;
}

/** Replaces the SECC chain and the MO roots on the module with the bundle's. */
export async function installCertificates(client: HciClient, bundle: CertBundle, log: Log, o: StoreOptions = {}): Promise<void> {
  log(`Open own certificate store ${OWN_STORE}`);
  const own = await openStore(client, true, OWN_STORE, o.openSyncTimeoutMs);
  log('Remove the own certificate chain');
  await removeAll(client, true, own, log);
  for (const cert of bundle.chain) {
    log(`Add certificate ${cert.file} (${cert.der.length} bytes)`);
    const { entry } = await changing(client, true, own, () => client.request(CertificateManager.OwnCertificatesAddCertificate, { ownCertificateStore: own, data: cert.der }, opts));
    if (cert === bundle.chain[bundle.chain.length - 1]) {
      // Only the file name and size: the key itself never reaches a log.
      log(`Add private key ${bundle.key.file} to entry ${entry}`);
      await changing(client, true, own, () => client.request(CertificateManager.OwnCertificatesAddKey, { ownCertificateStore: own, entry, data: bundle.key.der }, opts));
    }
  }
  log(`Open trust store ${MO_TRUST_STORE}`);
  const mo = await openStore(client, false, MO_TRUST_STORE, o.openSyncTimeoutMs);
  log('Remove the mobility operator root certificates');
  await removeAll(client, false, mo, log);
  log(`Add certificate ${bundle.moRoot.file} (${bundle.moRoot.der.length} bytes)`);
  await changing(client, false, mo, () => client.request(CertificateManager.TrustStoreAddCertificate, { trustStore: mo, data: bundle.moRoot.der }, opts));
  log('Certificates installed');
}

export interface CertListing {
  own: StoreEntry[];
  moRoots: StoreEntry[];
}

export async function listCertificates(client: HciClient, o: StoreOptions = {}): Promise<CertListing> {
  const own = await openStore(client, true, OWN_STORE, o.openSyncTimeoutMs);
  const mo = await openStore(client, false, MO_TRUST_STORE, o.openSyncTimeoutMs);
  return { own: await listStore(client, true, own), moRoots: await listStore(client, false, mo) };
}
