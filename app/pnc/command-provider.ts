/**
 * Certificate provider (b): an external command, run once per request (no shell; argv as
 * configured, working directory = the configuration file's directory). It gets one JSON object
 * on stdin and answers on stdout:
 *
 *   stdin : {"kind":"installation"|"update","evccId":"000101637731","timeoutMs":3500,
 *            "exiRequest":"<base64 of the EXI request, V2GTP header included>"}
 *   stdout: {"exiResponse":"<base64 of the EXI response, V2GTP header included>"}
 *           or nothing / {} when it has no response for this request
 *
 * A non-zero exit is a failure (its first stderr line is logged). The process is killed when the
 * answer is no longer wanted (deadline or session end). See docs/pnc.md.
 */
import { spawn } from 'node:child_process';
import type { CertificateProvider, CertificateRequest } from '../../machines/certificate-provider.js';

/** Output beyond this is not an answer the module could carry (6000 bytes as base64 + JSON). */
const MAX_STDOUT_BYTES = 64 * 1024;

export interface CommandProviderOptions {
  argv: readonly string[];
  cwd?: string;
}

function parseAnswer(stdout: string): Uint8Array | undefined {
  const text = stdout.trim();
  if (text === '') return undefined;
  const parsed = JSON.parse(text) as { exiResponse?: unknown };
  if (parsed.exiResponse === undefined || parsed.exiResponse === null) return undefined;
  if (typeof parsed.exiResponse !== 'string') throw new Error('"exiResponse" is not a base64 string');
  return new Uint8Array(Buffer.from(parsed.exiResponse, 'base64'));
}

export function commandProvider(options: CommandProviderOptions): CertificateProvider {
  const [file, ...args] = options.argv;
  if (file === undefined) throw new Error('certificate provider command: empty command');
  const answer = (request: CertificateRequest): Promise<Uint8Array | undefined> =>
    new Promise((resolve, reject) => {
      const child = spawn(file, args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let outBytes = 0;
      let err = '';
      const kill = (): void => void child.kill('SIGKILL');
      request.signal.addEventListener('abort', kill, { once: true });
      child.stdout.on('data', (b: Buffer) => {
        outBytes += b.length;
        if (outBytes > MAX_STDOUT_BYTES) kill();
        else out.push(b);
      });
      child.stderr.on('data', (b: Buffer) => (err += b.toString('utf8')));
      child.on('error', (e) => reject(new Error(`cannot run ${file}: ${e.message}`)));
      child.on('close', (code, signal) => {
        request.signal.removeEventListener('abort', kill);
        if (request.signal.aborted) return reject(new Error('aborted'));
        if (outBytes > MAX_STDOUT_BYTES) return reject(new Error(`more than ${MAX_STDOUT_BYTES} bytes on stdout`));
        if (code !== 0) return reject(new Error(`${file} exited with ${signal ?? `code ${code}`}${err.trim() ? `: ${err.trim().split('\n')[0]}` : ''}`));
        try {
          resolve(parseAnswer(Buffer.concat(out).toString('utf8')));
        } catch (e) {
          reject(new Error(`${file}: unreadable answer (${e instanceof Error ? e.message : String(e)})`));
        }
      });
      // A command that does not read its stdin must not crash us with EPIPE.
      child.stdin.on('error', () => undefined);
      child.stdin.end(JSON.stringify({ kind: request.kind, evccId: request.evccId, timeoutMs: request.timeoutMs, exiRequest: Buffer.from(request.exiRequest).toString('base64') }));
    });
  return { name: `command ${options.argv.join(' ')}`, install: answer, update: answer };
}
