/**
 * Certificate provider (a): a directory of prepared EXI responses. For a request of kind
 * `installation` or `update` the first file that exists answers:
 *
 *   1. <kind>-<sha256 of the EXI request, hex>.exi   this exact request
 *   2. <kind>-<EVCC ID, 12 hex digits>.exi           this car (e.g. installation-000101637731.exi)
 *   3. <kind>.exi                                    any car
 *
 * A file holds the EXI response with its V2GTP header (01 fe 80 01 + length), as the module
 * sends it; a file without that header is taken as the bare EXI body and gets one. No file:
 * no answer (the session refuses with certificate invalid). See docs/pnc.md.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CertificateProvider, type CertificateRequest, V2GTP_EXI_HEADER, withV2gtpHeader } from '../../machines/certificate-provider.js';

/** The file names tried for a request, most specific first. */
export function responseFileNames(request: Pick<CertificateRequest, 'kind' | 'exiRequest' | 'evccId'>): string[] {
  const hash = createHash('sha256').update(request.exiRequest).digest('hex');
  const evcc = request.evccId.replace(/[^0-9a-f]/gi, '').toLowerCase();
  return [`${request.kind}-${hash}.exi`, ...(evcc ? [`${request.kind}-${evcc}.exi`] : []), `${request.kind}.exi`];
}

const hasHeader = (b: Uint8Array): boolean => b.length >= 8 && V2GTP_EXI_HEADER.every((x, i) => b[i] === x);

/**
 * Read synchronously on purpose: the files are small, and a read that completes within the
 * request keeps the answer in time on a virtual clock (`sim --speed max` jumps to the next timer
 * while real I/O is pending, so an asynchronous read would always lose the race).
 */
function readIfPresent(path: string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export function directoryProvider(dir: string): CertificateProvider {
  const answer = async (request: CertificateRequest): Promise<Uint8Array | undefined> => {
    for (const name of responseFileNames(request)) {
      const bytes = readIfPresent(join(dir, name));
      if (bytes !== undefined) return hasHeader(bytes) ? bytes : withV2gtpHeader(bytes);
    }
    return undefined;
  };
  return { name: `directory ${dir}`, install: answer, update: answer };
}
