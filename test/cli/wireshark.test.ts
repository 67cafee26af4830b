/**
 * The Wireshark dissector: generated from the catalog (the committed file is a fresh
 * generation), read by a real tshark on a simulated session's capture (no malformed frame, no
 * Lua error, every frame named as `decode --pcap --names` names it), checksums verified, and
 * installed by `freev2g wireshark --install`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ControlPilot, encodeRequest } from '../../codec/catalog.js';
import { PcapWriter, wrapEthernet } from '../../app/capture.js';
import { DISSECTOR_PATH, generateDissector } from '../../app/dissector.js';
import { runCli, tmp } from '../helpers/app-helpers.js';

const run = promisify(execFile);
const LUA = fileURLToPath(DISSECTOR_PATH);

/** tshark's fields, one row per packet (two passes, so requests know their responses). */
async function tsharkFields(pcap: string, fields: string[], filter?: string): Promise<string[][]> {
  const args = ['-n', '-2', '-X', `lua_script:${LUA}`, '-r', pcap, '-T', 'fields', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=|'];
  for (const f of fields) args.push('-e', f);
  if (filter) args.push('-Y', filter);
  const { stdout } = await run('tshark', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t'));
}

describe('wireshark dissector', () => {
  it('is the fresh generation from the catalog (regenerate with `npm run dissector`)', () => {
    expect(readFileSync(DISSECTOR_PATH, 'utf8')).toBe(generateDissector());
  });

  describe('on a simulated session capture', () => {
    const dir = tmp();
    const pcap = join(dir, 'session.pcap');
    let decoded: Array<{ module?: string; message?: string; direction?: string; error?: unknown }> = [];

    beforeAll(async () => {
      // A short session: the simulated car stops at 91 % (starts at 90 %).
      const sim = await runCli(['sim', '--speed', 'max', '--no-records', '--capture', pcap], { env: { FREEV2G_EV__TARGET_SOC: '91' }, timeoutMs: 110_000 });
      expect(sim.code, sim.stderr).toBe(0);
      const d = await runCli(['decode', '--pcap', pcap, '--names'], { timeoutMs: 60_000 });
      expect(d.code, d.stderr).toBe(0);
      decoded = d.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as (typeof decoded)[number]);
    }, 180_000);

    it('names every frame as decode does, with no malformed frame, Lua error or expert warning', async () => {
      const rows = await tsharkFields(pcap, ['whitebeet.module', 'whitebeet.message', 'whitebeet.direction', '_ws.malformed', '_ws.expert', '_ws.lua.text']);
      const frames = rows.flatMap(([module = '', message = '', direction = '', malformed = '', expertInfo = '', luaError = '']) => {
        expect({ malformed, expertInfo, luaError }).toEqual({ malformed: '', expertInfo: '', luaError: '' });
        const modules = module.split('|');
        const directions = direction.split('|');
        return message.split('|').map((m, i) => ({ module: modules[i], message: m, direction: directions[i] }));
      });
      expect(decoded.length).toBeGreaterThan(1000);
      expect(frames).toEqual(decoded.map((l) => ({ module: l.module, message: l.message, direction: l.direction })));
    }, 120_000);

    it('pairs each request with its response', async () => {
      const rows = await tsharkFields(pcap, ['frame.number', 'whitebeet.response_in', 'whitebeet.request_in'], 'whitebeet.message == "SetMode"');
      const byFrame = new Map(rows.map((r) => [r[0], r]));
      const responses = rows.filter((r) => r[2]);
      expect(responses.length).toBeGreaterThanOrEqual(2);
      for (const [frame, , requestIn] of responses) expect(byFrame.get(requestIn)?.[1]).toBe(frame);
    }, 60_000);
  });

  it('verifies the checksum and decodes fields', async () => {
    const dir = tmp();
    const pcap = join(dir, 'bad.pcap');
    const good = encodeRequest(ControlPilot.SetMode, 1, { mode: 1 });
    const bad = good.slice();
    bad[bad.length - 2] = (good[good.length - 2] as number) ^ 0x55;
    const w = new PcapWriter(pcap);
    const host = Uint8Array.of(2, 0, 0, 0, 0, 1);
    const mod = Uint8Array.of(0, 1, 1, 0x63, 0x77, 0x33);
    w.write({ atMs: 1, data: wrapEthernet(mod, host, good) });
    w.write({ atMs: 2, data: wrapEthernet(mod, host, bad) });
    w.close();
    const rows = await tsharkFields(pcap, ['whitebeet.checksum.status', 'whitebeet.field', '_ws.expert.message']);
    expect(rows[0]?.slice(0, 2)).toEqual(['good', 'mode=EVSE (1)']);
    expect(rows[1]?.[0]).toBe('bad');
    expect(rows[1]?.[2]).toMatch(/computed 0x/);
  }, 60_000);

  it('`wireshark --install` copies it into the Wireshark plugin folder', async () => {
    const home = tmp();
    const r = await runCli(['wireshark', '--install'], { env: { HOME: home } });
    expect(r.code, r.stderr).toBe(0);
    const target = join(home, '.local', 'lib', 'wireshark', 'plugins', 'whitebeet.lua');
    expect(existsSync(target)).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe(readFileSync(DISSECTOR_PATH, 'utf8'));
  });
});
