/** Certificate files for `certs install`: PEM and DER read, bad files named before any change. */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertFileError, readCertBundle } from '../../app/certs.js';
import { makeCertFolder } from '../helpers/app-helpers.js';

describe('certificate bundle', () => {
  let pem: string;
  let der: string;
  beforeAll(() => {
    pem = makeCertFolder(false);
    der = makeCertFolder(true);
  });

  it('reads PEM and DER folders into DER, chain root first', () => {
    for (const dir of [pem, der]) {
      const b = readCertBundle(dir);
      expect(b.chain.map((c) => c.file.slice(dir.length + 1))).toEqual(['3.crt', '2.crt', '1.crt', '0.crt']);
      for (const c of [...b.chain, b.moRoot, b.key]) expect(c.der[0]).toBe(0x30);
      // SEC1 EC key, as in the manual's example (30 77 02 01 ...)
      expect([...b.key.der.subarray(0, 4)]).toEqual([0x30, 0x77, 0x02, 0x01]);
    }
    expect(readCertBundle(der).chain[3]?.der).toEqual(readCertBundle(der).chain[3]?.der);
  });

  it('names a missing file', () => {
    const dir = makeCertFolder();
    rmSync(join(dir, '2.crt'));
    expect(() => readCertBundle(dir)).toThrow(new CertFileError(join(dir, '2.crt'), 'missing'));
  });

  it('names a malformed certificate or key', () => {
    const dir = makeCertFolder();
    writeFileSync(join(dir, 'moca.crt'), 'hello');
    expect(() => readCertBundle(dir)).toThrow(`${join(dir, 'moca.crt')}: not a valid X.509 certificate`);
    const dir2 = makeCertFolder();
    writeFileSync(join(dir2, '0.key'), readFileSync(join(dir2, '0.crt')));
    expect(() => readCertBundle(dir2)).toThrow(`${join(dir2, '0.key')}: PEM file without a PRIVATE KEY block`);
    writeFileSync(join(dir2, '0.key'), Buffer.from([0x30, 0x03, 0x02, 0x01, 0x00]));
    expect(() => readCertBundle(dir2)).toThrow(`${join(dir2, '0.key')}: not a valid private key`);
  });
});
