/**
 * `freev2g wireshark`: the Lua dissector for ethertype 0x6003 (wireshark/whitebeet.lua, generated
 * from the codec's catalog). `--install` copies it into the user's Wireshark plugin folder;
 * without options the command prints where the file is and how to install it by hand.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { CliError, EXIT } from '../exit.js';
import { DISSECTOR_PATH } from '../dissector.js';

/** Wireshark's personal Lua plugin folder on Linux and macOS (Help > About > Folders). */
export function pluginFolder(home = homedir()): string {
  return join(home, '.local', 'lib', 'wireshark', 'plugins');
}

interface WiresharkFlags {
  install?: boolean;
  folder?: string;
}

function run(flags: WiresharkFlags): void {
  const source = fileURLToPath(DISSECTOR_PATH);
  const folder = flags.folder ?? pluginFolder();
  if (!flags.install) {
    process.stdout.write(`${source}\ninstall: freev2g wireshark --install   (or: mkdir -p ${folder} && cp ${source} ${folder}/)\n`);
    return;
  }
  const target = join(folder, 'whitebeet.lua');
  try {
    mkdirSync(folder, { recursive: true });
    copyFileSync(source, target);
  } catch (e) {
    throw new CliError(`${target}: ${e instanceof Error ? e.message : String(e)}`, EXIT.failure);
  }
  process.stdout.write(`installed ${target}; restart Wireshark (or Analyze > Reload Lua Plugins)\n`);
}

export function register(program: Command): void {
  program
    .command('wireshark')
    .description('The Wireshark dissector for ethertype 0x6003 (WHITE-beet HCI): print its path, or --install it')
    .option('--install', 'copy the dissector into the Wireshark plugin folder')
    .option('--folder <dir>', 'plugin folder to install into (default ~/.local/lib/wireshark/plugins)')
    .addHelpText('after', '\nWithout Wireshark plugins: tshark -X lua_script:$(freev2g wireshark | head -1) -r capture.pcap')
    .action(run);
}
