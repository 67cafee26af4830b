/**
 * Config hardening (issue 12 item 11): size and depth limits, prototype keys, environment values
 * checked like file values, and the codec's ranges checked at load time. Each of these passed or
 * crashed before: 100,000-deep nesting died with "Maximum call stack size exceeded", `__proto__`
 * passed silently, FREEV2G_SPEED=abc was taken, max_power 1e300 failed mid-session.
 */
import { describe, expect, it } from 'vitest';
import { writeConfig, configErrorOf } from '../helpers/config.js';
import { MAX_CONFIG_BYTES, MAX_CONFIG_DEPTH, cliEnv, deepMerge, loadStation, loadStations } from '../../app/config.js';
import { parseSpeed } from '../../app/commands/sim.js';

describe('limits on the file itself', () => {
  it('100,000-deep nesting is one clear error, not a stack overflow', () => {
    const file = writeConfig(`{"evse":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(configErrorOf(() => loadStations(file, { env: {} }))).toBe(`${file}: (top level): nested 100001 levels deep, at most ${MAX_CONFIG_DEPTH} allowed`);
  });

  it('brackets inside strings do not count towards the depth', () => {
    const file = writeConfig(
      JSON.stringify({ evse: { configuration: { id_din: '[[[[{{{{'.repeat(4), id_iso: 'DE*A23*E45B*78C', protocol: ['iso'], payment_method: ['eim'], energy_transfer_mode: ['dc_core'] } } }),
    );
    expect(loadStation(file, 'EVSE', { env: {} }).evse?.evseIdDin).toBe('[[[[{{{{'.repeat(4));
  });

  it('a file larger than the limit is refused before it is parsed', () => {
    const file = writeConfig(`{"evse": {}, "pad": "${'x'.repeat(MAX_CONFIG_BYTES)}"}`);
    expect(configErrorOf(() => loadStations(file, { env: {} }))).toMatch(new RegExp(`^${file}: file too large \\(\\d+ bytes, at most ${MAX_CONFIG_BYTES}\\)$`));
  });

  it.each(['__proto__', 'constructor', 'prototype'])('the key %s is refused wherever it is, with its path', (key) => {
    const file = writeConfig(`{"evse": {"charger": {"${key}": {"max_power": 1}}}}`);
    expect(configErrorOf(() => loadStations(file, { env: {} }))).toBe(`${file}: evse.charger.${key}: key not allowed (__proto__, constructor, prototype are reserved)`);
    expect(({} as Record<string, unknown>).max_power).toBeUndefined();
  });

  it('merging never writes through a prototype key', () => {
    const over = JSON.parse('{"__proto__": {"polluted": true}}') as Record<string, never>;
    deepMerge({}, over);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('environment values are validated like file values', () => {
  it('a station key from the environment is checked by the schema, and the error names the variable', () => {
    const env = { FREEV2G_EVSE__CHARGER__MAX_POWER: '-5' };
    expect(configErrorOf(() => loadStation(undefined, 'EVSE', { env }))).toMatch(/^environment FREEV2G_EVSE__CHARGER__MAX_POWER: evse\.charger\.max_power: expected > 0, got -5$/);
    expect(configErrorOf(() => loadStation(undefined, 'EVSE', { env: { FREEV2G_EVSE__CHARGER__MAX_POWER: '1e300' } }))).toMatch(/max_power: expected a value the module can encode/);
    expect(configErrorOf(() => loadStation(undefined, 'EVSE', { env: { FREEV2G_EVSE__CHARGER__CONSTRUCTOR: '{}' } }))).toBe(
      'environment FREEV2G_EVSE__CHARGER__CONSTRUCTOR: constructor: key not allowed',
    );
  });

  it.each([
    ['SPEED', 'abc'],
    ['SPEED', '-5'],
    ['SPEED', '0'],
    ['LOG_FORMAT', 'xml'],
    ['INSPECT', '70000'],
    ['RECORDS', ''],
  ] as const)('FREEV2G_%s=%j is refused with exit 3', (key, value) => {
    const message = configErrorOf(() => cliEnv(key, { [`FREEV2G_${key}`]: value }));
    expect(message.startsWith(`environment FREEV2G_${key}: expected `)).toBe(true);
    expect(message.endsWith(`, got ${JSON.stringify(value)}`)).toBe(true);
  });

  it('good values pass, and sim takes FREEV2G_SPEED through the same check', () => {
    expect(cliEnv('SPEED', { FREEV2G_SPEED: 'max' })).toBe('max');
    expect(cliEnv('LOG_FORMAT', {})).toBeUndefined();
    const saved = process.env.FREEV2G_SPEED;
    try {
      process.env.FREEV2G_SPEED = '12.5';
      expect(parseSpeed(undefined)).toBe(12.5);
      process.env.FREEV2G_SPEED = 'abc';
      expect(configErrorOf(() => parseSpeed(undefined))).toBe('environment FREEV2G_SPEED: expected a number > 0 (at most 1000000) or "max", got "abc"');
    } finally {
      if (saved === undefined) delete process.env.FREEV2G_SPEED;
      else process.env.FREEV2G_SPEED = saved;
    }
  });
});

describe('ranges the codec can encode are checked at load time', () => {
  const evseWith = (charger: Record<string, number>): string => writeConfig(JSON.stringify({ evse: { charger } }));
  it.each([
    ['max_power', 1e300],
    ['max_power', 40001],
    ['max_voltage', 123456],
  ])('charger.%s = %d is refused at load with the key named', (key, value) => {
    const file = evseWith({ [key]: value });
    expect(configErrorOf(() => loadStations(file, { env: {} }))).toMatch(new RegExp(`^${file}: evse\\.charger\\.${key}: expected a value the module can encode`));
  });

  it('values with an exponential form pass (250000 = 25000e1, 0.05, 32767)', () => {
    expect(loadStation(evseWith({ max_power: 250000, min_current: 0.05, max_current: 32767 }), 'EVSE', { env: {} }).evse?.charger).toMatchObject({
      maxPowerW: 250000,
      minCurrentA: 0.05,
      maxCurrentA: 32767,
    });
  });

  it('schedules: start beyond uint32, more than 20 entries or 3 tuples are refused', () => {
    const entry = { start: 0, interval: 10, power: 1000 };
    const sched = (tuples: unknown): string => writeConfig(JSON.stringify({ evse: { schedule: { schedule_tuples: tuples } } }));
    expect(configErrorOf(() => loadStations(sched([{ schedule_tuple_id: 1, schedules: [{ ...entry, start: 2 ** 32 }] }]), { env: {} }))).toMatch(
      /schedule_tuples\.0\.schedules\.0\.start: expected <= 4294967295/,
    );
    expect(configErrorOf(() => loadStations(sched([{ schedule_tuple_id: 1, schedules: Array(21).fill(entry) }]), { env: {} }))).toMatch(/schedules: expected at most 20 entries/);
    expect(configErrorOf(() => loadStations(sched(Array(4).fill({ schedule_tuple_id: 1, schedules: [entry] })), { env: {} }))).toMatch(/schedule_tuples: expected at most 3 entries/);
  });

  it('a DIN EVSE ID longer than Set Configuration carries (32) is refused', () => {
    const file = writeConfig(JSON.stringify({ evse: { evse_id_DIN: 'x'.repeat(33) } }));
    expect(configErrorOf(() => loadStations(file, { env: {} }))).toMatch(/: evse\.evse_id_DIN: expected at most 32 characters/);
  });
});
