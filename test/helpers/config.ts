/** Helpers for the configuration tests: a file with given content, and the ConfigError a call throws. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { ConfigError } from '../../app/config.js';

/** Writes `content` (text as is, anything else as JSON) to a new c.json; returns its path. */
export function writeConfig(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'freev2g-cfg-')), 'c.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** The message of the ConfigError (exit code 3) that `f` throws; fails the test otherwise. */
export function configErrorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).exitCode).toBe(3);
    return (e as Error).message;
  }
  throw new Error('expected a ConfigError');
}
