/**
 * Exit codes and the expected-failure error of the command line. A module of its own so that
 * app/cli.ts (which loads the commands) and app/commands/* (which throw) do not import each other.
 *
 * Exit codes (documented in docs/service.md and the README): 0 done (also after a clean stop on
 * SIGINT/SIGTERM), 1 other failure (or a frame `decode` could not read), 2 bad usage, 3 bad
 * configuration, 4 transport (interface, permissions, library), 5 a session ended on an error
 * or a station failed (refused firmware; `sim`: its module set-up failed 6 times in a row), 130 a
 * second signal cut the clean stop short.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, config: 3, transport: 4, session: 5, interrupted: 130 } as const;

/** An expected failure: printed as one line, no stack. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
