/**
 * `--power-stage` and `--ev-battery` from the command line's flags: sim needs nothing, mqtt needs
 * a broker, the bounds are whole numbers of ms; errors are usage errors with one clear line.
 */
import { describe, expect, it } from 'vitest';
import { CliError, EXIT } from '../../app/exit.js';
import { runSettings } from '../../app/commands/common.js';

const usage = (fn: () => unknown, text: string) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    expect((e as CliError).exitCode).toBe(EXIT.usage);
    expect((e as CliError).message).toBe(text);
    return;
  }
  expect.unreachable('no usage error');
};

describe('--power-stage', () => {
  it('defaults to the simulation: no control plane is asked for', () => {
    expect(runSettings({ powerStage: 'sim' }, false).control).toBeUndefined();
  });

  it('mqtt goes to the control plane with the broker and the bound', () => {
    const s = runSettings({ powerStage: 'mqtt', mqtt: 'mqtt://127.0.0.1:1883', powerStageOffTimeout: '500' }, false);
    expect(s.control).toMatchObject({ powerStage: 'mqtt', mqtt: 'mqtt://127.0.0.1:1883', powerStageOffTimeoutMs: 500 });
  });

  it('refuses mqtt without a broker, and a bad bound', () => {
    usage(() => runSettings({ powerStage: 'mqtt' }, false), '--power-stage mqtt needs a broker: set --mqtt <url> (or FREEV2G_MQTT) too');
    usage(() => runSettings({ powerStage: 'mqtt', mqtt: 'embedded', powerStageOffTimeout: '1.5' }, false), '--power-stage-off-timeout must be a whole number of ms >= 1, got "1.5"');
  });
});

describe('--ev-battery', () => {
  it('defaults to the simulation: no control plane is asked for', () => {
    expect(runSettings({ evBattery: 'sim' }, false).control).toBeUndefined();
  });

  it('mqtt goes to the control plane with the broker and the silence bound', () => {
    const s = runSettings({ evBattery: 'mqtt', mqtt: 'mqtt://127.0.0.1:1883', evBatteryTimeout: '1500' }, false);
    expect(s.control).toMatchObject({ evBattery: 'mqtt', mqtt: 'mqtt://127.0.0.1:1883', evBatterySilenceTimeoutMs: 1500 });
    expect(s.control?.powerStage).toBeUndefined();
  });

  it('refuses mqtt without a broker, and a bad bound', () => {
    usage(() => runSettings({ evBattery: 'mqtt' }, false), '--ev-battery mqtt needs a broker: set --mqtt <url> (or FREEV2G_MQTT) too');
    usage(() => runSettings({ evBattery: 'mqtt', mqtt: 'embedded', evBatteryTimeout: '0' }, false), '--ev-battery-timeout must be a whole number of ms >= 1, got "0"');
    usage(() => runSettings({ evBattery: 'bms' }, false), '--ev-battery must be sim or mqtt, got "bms"');
  });
});
