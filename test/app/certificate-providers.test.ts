/**
 * The two certificate providers: a directory of prepared responses (file naming and matching) and
 * an external command (a real node process on stdin/stdout); and the config keys that name them.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadStations } from '../../app/config.js';
import { commandProvider } from '../../app/pnc/command-provider.js';
import { certificateProviderFrom } from '../../app/pnc/config.js';
import { directoryProvider, responseFileNames } from '../../app/pnc/directory-provider.js';
import { type CertificateRequest, answerCertificateRequest, withV2gtpHeader } from '../../machines/certificate-provider.js';
import { RealClock } from '../../util/clock.js';
import { tmp } from '../helpers/app-helpers.js';

const EXI_REQUEST = withV2gtpHeader(Uint8Array.of(0x80, 0x04, 7, 7));
const RESPONSE = withV2gtpHeader(Uint8Array.of(0x80, 0x05, 1, 2, 3));

function request(o: Partial<CertificateRequest> = {}): CertificateRequest {
  return { kind: 'installation', exiRequest: EXI_REQUEST, evccId: '000101637731', timeoutMs: 3500, signal: new AbortController().signal, ...o };
}

describe('directory provider', () => {
  it('tries <kind>-<sha256>.exi, then <kind>-<evccid>.exi, then <kind>.exi', async () => {
    const hash = createHash('sha256').update(EXI_REQUEST).digest('hex');
    expect(responseFileNames(request())).toEqual([`installation-${hash}.exi`, 'installation-000101637731.exi', 'installation.exi']);
    const dir = tmp();
    const p = directoryProvider(dir);
    expect(await p.install(request())).toBeUndefined();
    writeFileSync(join(dir, 'installation.exi'), Uint8Array.of(0x80, 0x05, 0));
    // A bare EXI body gets its V2GTP header.
    expect(await p.install(request())).toEqual(withV2gtpHeader(Uint8Array.of(0x80, 0x05, 0)));
    writeFileSync(join(dir, 'installation-000101637731.exi'), RESPONSE);
    expect(await p.install(request())).toEqual(RESPONSE);
    expect(await p.install(request({ evccId: '00:01:01:63:77:99' }))).toEqual(withV2gtpHeader(Uint8Array.of(0x80, 0x05, 0)));
    writeFileSync(join(dir, `installation-${hash}.exi`), withV2gtpHeader(Uint8Array.of(9)));
    expect(await p.install(request())).toEqual(withV2gtpHeader(Uint8Array.of(9)));
    // Updates have their own files.
    expect(await p.update(request({ kind: 'update' }))).toBeUndefined();
  });

  it('an unreadable entry is a failure, answered certificate invalid', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'installation.exi'));
    const a = await answerCertificateRequest({
      provider: directoryProvider(dir),
      offered: true,
      kind: 'installation',
      exiRequest: EXI_REQUEST,
      evccId: 'x',
      moduleTimeoutMs: 4500,
      clock: new RealClock(),
    });
    expect(a.status).toBe(2);
    expect(a.text).toMatch(/^Certificate installation: directory .* failed \(EISDIR/);
  });
});

/** Writes a node script as the external command. */
function script(body: string): string[] {
  const file = join(tmp(), 'provider.mjs');
  writeFileSync(file, body);
  return [process.execPath, file];
}

const ECHO = `
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const req = JSON.parse(input);
  if (req.evccId !== '000101637731') return;
  const exi = Buffer.from(req.exiRequest, 'base64');
  const body = Buffer.from([0x80, 0x05, exi.length, req.kind === 'update' ? 2 : 1, req.timeoutMs >> 8]);
  const head = Buffer.from([1, 0xfe, 0x80, 1, 0, 0, 0, body.length]);
  process.stdout.write(JSON.stringify({ exiResponse: Buffer.concat([head, body]).toString('base64') }));
});`;

describe('command provider (a real local process)', () => {
  it('gets the request as JSON on stdin and answers with base64 on stdout; no output means no answer', async () => {
    const p = commandProvider({ argv: script(ECHO) });
    expect(await p.install(request())).toEqual(withV2gtpHeader(Uint8Array.of(0x80, 0x05, EXI_REQUEST.length, 1, 3500 >> 8)));
    expect(await p.update(request({ kind: 'update' }))).toEqual(withV2gtpHeader(Uint8Array.of(0x80, 0x05, EXI_REQUEST.length, 2, 3500 >> 8)));
    expect(await p.install(request({ evccId: 'ffffffffffff' }))).toBeUndefined();
  });

  it('a failing command, a missing one and garbage on stdout are failures with their reason', async () => {
    await expect(commandProvider({ argv: script('console.error("no HSM\\nmore"); process.exit(3)') }).install(request())).rejects.toThrow(/exited with code 3: no HSM$/);
    await expect(commandProvider({ argv: ['/nonexistent/provider'] }).install(request())).rejects.toThrow(/cannot run \/nonexistent\/provider: .*ENOENT/);
    await expect(commandProvider({ argv: script('console.log("hello")') }).install(request())).rejects.toThrow(/unreadable answer/);
  });

  it('is killed when the answer is no longer wanted', async () => {
    const abort = new AbortController();
    const p = commandProvider({ argv: script('setInterval(() => {}, 1000)') });
    const answer = p.install(request({ signal: abort.signal }));
    setTimeout(() => abort.abort(), 50);
    await expect(answer).rejects.toThrow('aborted');
  });
});

describe('configuration: certificate_provider and allow_emaid', () => {
  it('reads both provider kinds (paths relative to the file) and the EMAID allow-list', async () => {
    const dir = tmp();
    const file = join(dir, 'evse.json');
    writeFileSync(file, JSON.stringify({ evse: { certificate_provider: { directory: 'responses' }, authorization: { policy: 'allow_list', allow_emaid: ['DE8ACC12345678'] } } }));
    const [s] = loadStations(file, { env: {} });
    expect(s?.evse?.certificateProvider).toEqual({ directory: 'responses' });
    expect(s?.evse?.authorization.allowEmaid).toEqual(['DE8ACC12345678']);
    expect(certificateProviderFrom(s?.evse?.certificateProvider, file)?.name).toBe(`directory ${join(dir, 'responses')}`);
    writeFileSync(file, JSON.stringify({ evse: { certificate_provider: { command: ['./sign.sh', '--fast'] } } }));
    expect(certificateProviderFrom(loadStations(file, { env: {} })[0]?.evse?.certificateProvider, file)?.name).toBe('command ./sign.sh --fast');
  });

  it('names a bad provider key', () => {
    const file = join(tmp(), 'evse.json');
    writeFileSync(file, JSON.stringify({ evse: { certificate_provider: { url: 'http://x' } } }));
    expect(() => loadStations(file, { env: {} })).toThrow(`${file}: evse.certificate_provider: `);
  });
});
