/** `freev2g certs`: install on the simulated EVSE module, key masking, files checked first. */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installCertificates, listCertificates, readCertBundle } from '../../app/certs.js';
import { createHciClient } from '../../machines/hci-client.js';
import { createSimulatedPair } from '../../sim/index.js';
import { RealClock } from '../../util/clock.js';
import { makeCertFolder, runCli, tmp } from '../helpers/app-helpers.js';

describe('freev2g certs', () => {
  it('installs the chain and the MO root; the key stays out of output and capture', async () => {
    const dir = makeCertFolder();
    const pcap = join(tmp(), 'certs.pcap');
    const r = await runCli(['certs', 'install', '--folder', dir, 'sim', '--capture', pcap]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Add private key');
    expect(r.stdout.trim().split('\n').at(-1)).toBe('Certificates installed');
    const key = readCertBundle(dir).key.der;
    const capture = readFileSync(pcap);
    expect(capture.includes(Buffer.from(key.subarray(7, 39)))).toBe(false);
    expect(r.stdout).not.toContain(Buffer.from(key).toString('hex').slice(14, 40));
    const decoded = await runCli(['decode', '--pcap', pcap]);
    const lines = decoded.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { message?: string; direction?: string; fields?: Record<string, unknown> });
    const addKey = lines.find((l) => l.message === 'OwnCertificatesAddKey' && l.direction === 'request');
    expect(addKey?.fields?.data).toMatch(/^(00)+$/);
    const adds = lines.filter((l) => /AddCertificate$/.test(l.message ?? '') && l.direction === 'request').map((l) => l.message);
    expect(adds).toEqual([...Array(4).fill('OwnCertificatesAddCertificate'), 'TrustStoreAddCertificate']);
  }, 60_000); // two CLI runs and 13 openssl calls: slow on a loaded machine

  it('names a missing file and exits 3 before touching the module', async () => {
    const dir = makeCertFolder();
    rmSync(join(dir, '1.crt'));
    const r = await runCli(['certs', 'install', '--folder', dir, 'sim']);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`freev2g: ${join(dir, '1.crt')}: missing\n`);
    expect(r.stdout).toBe('');
  });

  it('a second install removes the first chain and root before adding', async () => {
    const clock = new RealClock(20);
    const pair = createSimulatedPair({ clock });
    const client = createHciClient({ transport: pair.evseHost, clock });
    const lines: string[] = [];
    const o = { openSyncTimeoutMs: 50 };
    try {
      await installCertificates(client, readCertBundle(makeCertFolder()), () => undefined, o);
      await installCertificates(client, readCertBundle(makeCertFolder(true)), (t) => lines.push(t), o);
      expect(lines.filter((l) => l.startsWith('  remove entry'))).toHaveLength(5);
      const listing = await listCertificates(client, o);
      expect(listing.own).toHaveLength(4);
      expect(listing.moRoots).toHaveLength(1);
    } finally {
      await client.close();
      await pair.close();
    }
  });
});
