/**
 * The `freev2g` command line without its command table: builds the program from the commands it
 * is given, parses, and maps failures to exit codes. `app/cli.ts` passes all seven commands
 * (loaded lazily); each per-command start bundle of dist/cli (scripts/build.mjs) passes only its
 * own, statically, so that bundle holds nothing another command needs.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './exit.js';

export type Registrar = (program: Command) => void;

/** Sub-commands by name, in help order, each loaded on demand. */
export type CommandTable = Record<string, () => Promise<{ register: Registrar }>>;

/**
 * The commands to register for these arguments: only the named one when the first word names a
 * command (start-up, issue 12 target 3: `sim` does not load certs or decode), none for a bare
 * `--version`, and all of them otherwise (help, an unknown word: commander lists or suggests).
 */
export function commandsIn(table: CommandTable, argv: readonly string[]): string[] {
  const word = argv[0];
  if (word !== undefined && Object.hasOwn(table, word)) return [word];
  if (argv.length > 0 && argv.every((a) => a === '-V' || a === '--version')) return [];
  return Object.keys(table);
}

/** The package's version, from package.json (one source; `freev2g --version`). */
export function packageVersion(): string {
  // ../ from app/, ../../ from the bundles in dist/cli/.
  const at = ['../package.json', '../../package.json'].map((p) => new URL(p, import.meta.url)).find((u) => existsSync(u));
  const pkg = JSON.parse(readFileSync(at ?? new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * When a command is done, the process should end even if a native handle lingers (node-pcap
 * keeps its capture handle alive after close): a last, unref'd timer exits with the code. It
 * never delays a process that ends by itself; main lets a piped stdout drain first.
 */
function exitSoon(code: number): number {
  setTimeout(() => process.exit(code), 1000).unref();
  return code;
}

export async function runCli(argv: string[], table: CommandTable): Promise<number> {
  // `freev2g decode ... | head`: a reader that stops early is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.ok);
    throw e;
  });
  const code = await run(argv, table);
  // A pipe to a slow reader (a loaded machine) may still hold output: let it drain before the
  // exit timer runs (`decode --pcap` printed megabytes and lost the tail).
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
  return exitSoon(code);
}

async function run(argv: string[], table: CommandTable): Promise<number> {
  const program = new Command('freev2g')
    .description('Drive WHITE-beet ISO 15118 modules (EVSE and EV) over HCI, or a simulated pair')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .exitOverride()
    // Usage errors in one line, like every other error: "freev2g: unknown option '--x' (see --help)".
    .configureOutput({ outputError: (str, write) => write(`freev2g: ${str.trim().replace(/^error: /, '')} (see --help)\n`) });
  for (const name of commandsIn(table, argv)) (await (table[name] as CommandTable[string])()).register(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (e instanceof CliError) {
      process.stderr.write(`freev2g: ${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`freev2g: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.failure;
  }
}
