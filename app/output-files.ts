/**
 * The files the service writes (session records, HCI capture): checked once at start, so that a
 * path that cannot be written is refused in one line before any module is touched, and written
 * later without ever taking the process down. A disk that fills or a folder removed mid-run
 * costs that output (one clear line, once until it works again); charging goes on unaffected.
 */
import { closeSync, existsSync, openSync, unlinkSync } from 'node:fs';
import { CliError, EXIT } from './exit.js';

const reason = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code}${err.message ? `: ${err.message.replace(/^[A-Z]+: /, '')}` : ''}` : String(e);
};

/**
 * Opens `path` for appending (creating it when missing, as the first write would) and closes it.
 * As root, permission bits do not stop us; a missing folder, a folder in the way, a read-only
 * file system or a full disk do, and those are what this finds.
 * Throws a CliError (exit 3, configuration) naming the option and the cause.
 */
export function checkWritable(path: string, what: string): void {
  try {
    const existed = existsSync(path);
    closeSync(openSync(path, 'a'));
    // A file that only the check created goes again: a run that records nothing leaves nothing.
    if (!existed) unlinkSync(path);
  } catch (e) {
    throw new CliError(`cannot write the ${what} to "${path}" (${reason(e)})`, EXIT.config);
  }
}

/**
 * Runs `write`; a failure is reported through `warn` as one line, and only the first of a run
 * of failures (the next success re-arms it). Never throws.
 */
export function guardedWriter(what: string, path: string, warn: (line: string) => void): (write: () => void) => boolean {
  let failing = false;
  return (write) => {
    try {
      write();
      failing = false;
      return true;
    } catch (e) {
      if (!failing) warn(`Warning: cannot write the ${what} to "${path}" (${reason(e)}); charging goes on`);
      failing = true;
      return false;
    }
  };
}

/**
 * The last `limit` items of a stream (sessions of a run that may last months): what is older is
 * counted, not kept. Records are on disk as they end; memory holds only a bounded tail.
 */
export class Recent<T> {
  readonly items: T[] = [];
  dropped = 0;
  constructor(readonly limit: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.limit) {
      this.items.shift();
      this.dropped++;
    }
  }
  get total(): number {
    return this.items.length + this.dropped;
  }
}
