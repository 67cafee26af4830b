/**
 * `certs install` checks the bundle before it touches the module (issue 12 item 10): 0.key is
 * the key of 0.crt, and 0 -> 1 -> 2 -> 3 link (each signed by the next, 3 self-signed).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertFileError, readCertBundle } from '../../app/certs.js';
import { makeCertFolder, tmp } from '../helpers/app-helpers.js';

/** A folder like `good` with some files taken from `other`. */
function mixed(good: string, other: string, files: string[]): string {
  const dir = tmp();
  for (const f of ['0.crt', '0.key', '1.crt', '2.crt', '3.crt', 'moca.crt']) copyFileSync(join(files.includes(f) ? other : good, f), join(dir, f));
  return dir;
}

describe('certs install: key and chain checks', () => {
  let a: string;
  let b: string;
  beforeAll(() => {
    a = makeCertFolder();
    b = makeCertFolder(true);
  });

  it('accepts a linked chain with its key, PEM and DER', () => {
    expect(readCertBundle(a).chain).toHaveLength(4);
    expect(readCertBundle(b).chain).toHaveLength(4);
  });

  it('refuses a 0.key that does not belong to 0.crt', () => {
    const dir = mixed(a, b, ['0.key']);
    expect(() => readCertBundle(dir)).toThrow(new CertFileError(join(dir, '0.key'), `does not match the certificate ${join(dir, '0.crt')}`));
  });

  it('refuses a chain that does not link, naming the certificate and its issuer', () => {
    // 1.crt of another chain: 0 is not issued by it.
    const dir = mixed(a, b, ['1.crt']);
    expect(() => readCertBundle(dir)).toThrow(`${join(dir, '0.crt')}: is not issued by ${join(dir, '1.crt')} (its issuer is "CN=freev2g-test-1", ${join(dir, '1.crt')} is "CN=freev2g-test-1")`);
    // Same names, other keys: the signature does not verify.
    const dir2 = mixed(a, b, ['3.crt']);
    expect(() => readCertBundle(dir2)).toThrow(`${join(dir2, '2.crt')}: is not issued by ${join(dir2, '3.crt')}`);
  });

  it('refuses a root that is not self-signed', () => {
    // 3.crt re-issued (same key and name) by another CA: 2 -> 3 still links, 3 is no root.
    const dir = makeCertFolder();
    const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'x.key');
    ssl('req', '-new', '-x509', '-key', 'x.key', '-subj', '/CN=another-root', '-days', '30', '-out', 'x.crt');
    ssl('req', '-new', '-key', '3.key', '-subj', '/CN=freev2g-test-3', '-out', '3.csr');
    ssl('x509', '-req', '-in', '3.csr', '-CA', 'x.crt', '-CAkey', 'x.key', '-CAcreateserial', '-days', '30', '-out', '3.crt');
    expect(() => readCertBundle(dir)).toThrow(new CertFileError(join(dir, '3.crt'), 'is not self-signed: the V2G root must be (it is "CN=freev2g-test-3", issued by "CN=another-root")'));
  });
});
