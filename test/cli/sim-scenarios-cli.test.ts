/**
 * Issue 10 items 7 and 8 from the command line: every built-in flow scenario by its bare name is a
 * complete session (`sim --scenario NAME` exits 0), `--sessions 2` ends on each (the simulated car
 * unplugs and returns; a paused segment does not count as a session), and the records show the
 * flow: protocol, energy transfer mode, renegotiation, pause, contract (EMAID) under Plug & Charge.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readRecords } from '../../app/records.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { runCli, tmp } from '../helpers/app-helpers.js';

/** What each scenario's first EVSE record must show. */
const FLOWS: Array<[string, (first: SessionRecord, all: SessionRecord[]) => void]> = [
  ['default-dc', (first) => expect(first).toMatchObject({ protocol: 'ISO15118-2', energyTransferMode: expect.stringMatching(/^dc/) })],
  ['default-ac', (first) => expect(first).toMatchObject({ protocol: 'ISO15118-2', energyTransferMode: expect.stringMatching(/^ac/) })],
  ['din-dc', (first) => expect(first).toMatchObject({ protocol: 'DIN70121', energyTransferMode: 'dcCore' })],
  ['renegotiate', (first) => expect(first.renegotiations ?? 0).toBeGreaterThanOrEqual(1)],
  ['pnc-cert-install', (first) => expect(first.contract?.emaid).toMatch(/^[A-Z]{2}/)],
  [
    'pause-resume',
    (first, all) => {
      expect(first).toMatchObject({ closure: 'pause', stopReason: 'paused' });
      expect(all.find((x) => x.resumed === true)?.sessionId).toBe(first.sessionId);
    },
  ],
];

describe('sim: every built-in flow scenario from the CLI', () => {
  it.each(FLOWS)(
    '--scenario %s --sessions 2 exits 0 with two charging sessions whose records show the flow',
    async (name, check) => {
      const dir = tmp();
      const records = join(dir, 'records.jsonl');
      const r = await runCli(['sim', '--scenario', name, '--speed', 'max', '--sessions', '2', '--records', records], { cwd: dir, timeoutMs: 170_000 });
      expect(r.code, r.stderr).toBe(0);
      const evse = (readRecords(records) as SessionRecord[]).filter((x) => x.station === 'EVSE');
      // Two sessions on each side; a paused segment is a record of its own but not a session.
      expect(evse.filter((x) => x.closure !== 'pause')).toHaveLength(2);
      expect(evse.every((x) => x.error === undefined)).toBe(true);
      const first = evse[0];
      expect(first).toBeDefined();
      if (first) check(first, evse);
    },
    180_000,
  );
});
