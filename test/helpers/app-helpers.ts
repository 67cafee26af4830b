/** Helpers for the app and CLI tests. */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'freev2g.js');

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'freev2g-test-'));

/**
 * A folder with 0.crt, 0.key, 1.crt, 2.crt, 3.crt, moca.crt made by openssl (EC P-256): one
 * chain, 3 (self-signed root) -> 2 -> 1 -> 0, as `certs install` requires; moca self-signed.
 */
export function makeCertFolder(der = false): string {
  const dir = tmp();
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  for (const name of ['3', '2', '1', '0', 'moca']) {
    ssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`);
    const issuer = { '2': '3', '1': '2', '0': '1' }[name];
    const ca = name === '0' ? [] : ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
    if (issuer === undefined) ssl('req', '-new', '-x509', '-key', `${name}.key`, '-subj', `/CN=freev2g-test-${name}`, '-days', '30', ...ca, '-out', `${name}.crt`);
    else {
      ssl('req', '-new', '-key', `${name}.key`, '-subj', `/CN=freev2g-test-${name}`, ...ca, '-out', `${name}.csr`);
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-CAcreateserial', '-days', '30', '-copy_extensions', 'copy', '-out', `${name}.crt`);
    }
  }
  if (der) {
    for (const name of ['0', '1', '2', '3', 'moca']) {
      ssl('x509', '-in', `${name}.crt`, '-outform', 'DER', '-out', `${name}.crt`);
      ssl('ec', '-in', `${name}.key`, '-outform', 'DER', '-out', `${name}.key`);
    }
  }
  return dir;
}

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with each chunk of stdout (to react mid-run, e.g. send a signal). */
  onStdout?: (chunk: string, child: ReturnType<typeof spawn>) => void;
  timeoutMs?: number;
  /** Leave stdin open (to answer prompts from onStdout). */
  keepStdin?: boolean;
}

/** Runs the real binary: node bin/freev2g.js <args>. */
export function runCli(args: string[], o: CliOptions = {}): Promise<CliRun> {
  return runProcess(process.execPath, [BIN, ...args], o);
}

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs the binary on a pseudo-terminal (util-linux `script`), so stdin and stdout are TTYs. */
export function runCliInPty(args: string[], o: CliOptions = {}): Promise<CliRun> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  return runProcess('script', ['-qfec', command, '/dev/null'], o);
}

export function runProcess(file: string, argv: string[], o: CliOptions): Promise<CliRun> {
  const args = argv;
  return new Promise((done, fail) => {
    const child = spawn(file, argv, {
      cwd: o.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: '1', ...o.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`freev2g ${args.join(' ')} did not finish in time\nstdout:\n${stdout.slice(-2000)}\nstderr:\n${stderr.slice(-2000)}`));
    }, o.timeoutMs ?? 25_000);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      o.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
    if (o.input !== undefined || !o.keepStdin) child.stdin.end(o.input ?? '');
  });
}
