/**
 * The `freev2g` command line. Each sub-command lives in app/commands/<name>.ts and exports
 * `register(program)`; this file is the table of them (app/cli-run.ts builds the program).
 */
import { type CommandTable, commandsIn, runCli } from './cli-run.js';

/** Sub-commands by name, in help order, loaded lazily so `decode` does not pay for the machines and vice versa. */
export const COMMANDS: CommandTable = {
  decode: () => import('./commands/decode.js'),
  sim: () => import('./commands/sim.js'),
  eth: () => import('./commands/eth.js'),
  spi: () => import('./commands/spi.js'),
  certs: () => import('./commands/certs.js'),
  'module-sim': () => import('./commands/module-sim.js'),
  wireshark: () => import('./commands/wireshark.js'),
};

/** The commands registered for these arguments (see commandsIn). */
export function commandsFor(argv: readonly string[]): string[] {
  return commandsIn(COMMANDS, argv);
}

export function main(argv: string[]): Promise<number> {
  return runCli(argv, COMMANDS);
}
