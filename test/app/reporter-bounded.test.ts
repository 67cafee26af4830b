import { describe, expect, it } from 'vitest';
import { createReporter } from '../../app/output/reporter.js';

describe('deferred log lines (issue 12 target 4, eighth round)', () => {
  it('a turn that never ends (a virtual-clock run in microtasks) does not hold every line: 256 waiting are written at once, in order', async () => {
    const lines: string[] = [];
    const r = createReporter({ format: 'json', out: { write: (s: string) => lines.push(s) }, prefixRoles: false, statusLine: false, startedAt: 0, now: () => 0 });
    for (let i = 0; i < 300; i++) r.station({ type: 'log', station: 'EVSE', text: `line ${i}` }, i);
    // On main all 300 waited for setImmediate (and a session's thousands went through every GC).
    expect(lines).toHaveLength(256);
    // The rest still after the turn, and the order is kept.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(lines.map((l) => JSON.parse(l).text)).toEqual(Array.from({ length: 300 }, (_, i) => `line ${i}`));
    r.close();
  });
});
