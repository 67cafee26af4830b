/**
 * House rules that a reader of the code would otherwise catch: no private XState API (`_parent`),
 * no import circle between the command line and its commands (exit codes live in app/exit.ts).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/app-helpers.js';

const sources = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(dir, f));

describe('house rules', () => {
  it('no source reads XState private fields (_parent, _snapshot, ...)', () => {
    const offenders = ['machines', 'app', 'sim'].flatMap(sources).filter((f) => /\._(parent|snapshot|systemId|processingStatus)\b/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('app/commands/* do not import app/cli.ts (which imports them)', () => {
    const offenders = sources('app/commands').filter((f) => /from '\.\.\/cli\.js'/.test(readFileSync(join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
    expect(readFileSync(join(ROOT, 'app/cli.ts'), 'utf8')).not.toMatch(/helper/i);
  });
});
