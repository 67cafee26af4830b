/**
 * Plug & Charge certificate installation and update (manual 18.12.15 / 18.12.16 / 18.10.18): the
 * module hands the host the EV's EXI request (with its 8-byte V2GTP header) and a timeout; the
 * host answers with Set Certificate Installation or Update Response: status and the EXI response.
 * The host does not build EXI itself: a CertificateProvider does (a directory of prepared
 * responses, an external command; app/pnc/). See docs/pnc.md.
 *
 * The session invokes `certificateAnswerLogic`, which always resolves with the answer to send:
 * - success + the provider's bytes,
 * - certificateInvalid when there is no provider, it has nothing (undefined), fails, or gives
 *   bytes that are not an EXI message the module can carry,
 * - timeout when the provider has not answered before the module's deadline (minus a margin,
 *   on the injected clock), its work then aborted through the signal.
 */
import { fromPromise } from 'xstate';
import { CertificateResponseStatus } from '../codec/modules/v2g/evse.js';
import type { Clock } from '../util/clock.js';

export type CertificateRequestKind = 'installation' | 'update';

export interface CertificateRequest {
  kind: CertificateRequestKind;
  /** The EXI request as the module gave it, V2GTP header included. */
  exiRequest: Uint8Array;
  /** The EV's EVCC ID (hex) from Session Started. */
  evccId: string;
  /** What is left of the module's timeout when the provider is asked (ms). */
  timeoutMs: number;
  /** Fires when the answer is no longer wanted (deadline, session end): stop working. */
  signal: AbortSignal;
}

/**
 * Answers the EV's certificate requests. Each method resolves with the EXI response (V2GTP header
 * included, at most 6000 bytes) or undefined when it has none for this request; a rejection
 * counts as "none" too. Neither method may take longer than `request.timeoutMs`.
 */
export interface CertificateProvider {
  /** A short name for logs ("directory /etc/freev2g/responses", "command ./sign.sh"). */
  readonly name: string;
  install(request: CertificateRequest): Promise<Uint8Array | undefined>;
  update(request: CertificateRequest): Promise<Uint8Array | undefined>;
}

/** V2GTP header (ISO 15118-2 7.8.3): version 0x01, inverse 0xFE, payload type 0x8001 (EXI). */
export const V2GTP_EXI_HEADER = [0x01, 0xfe, 0x80, 0x01] as const;
/** Longest EXI response the command carries (18.10.18: uint8[0-6000]). */
export const MAX_EXI_RESPONSE_BYTES = 6000;

/** Why bytes cannot go to the module as an EXI response, or undefined when they can. */
export function exiResponseProblem(bytes: Uint8Array): string | undefined {
  if (bytes.length > MAX_EXI_RESPONSE_BYTES) return `${bytes.length} bytes, more than ${MAX_EXI_RESPONSE_BYTES}`;
  if (bytes.length < 8 || V2GTP_EXI_HEADER.some((b, i) => bytes[i] !== b)) return 'no V2GTP EXI header (01 fe 80 01)';
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4);
  if (length !== bytes.length - 8) return `V2GTP length ${length} but ${bytes.length - 8} payload bytes`;
  return undefined;
}

/** Wraps an EXI payload in its V2GTP header. */
export function withV2gtpHeader(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + payload.length);
  out.set(V2GTP_EXI_HEADER, 0);
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}

export interface CertificateAnswer {
  status: number;
  exiResponse: Uint8Array;
  /** One line for the log: what happened. */
  text: string;
  level: 'info' | 'warn';
  /** For the session record. */
  outcome: 'success' | 'timeout' | 'certificateInvalid';
}

export interface CertificateAnswerInput {
  provider: CertificateProvider | undefined;
  /** Whether the station offers this service (Set Configuration); false: always refused. */
  offered: boolean;
  kind: CertificateRequestKind;
  exiRequest: Uint8Array;
  evccId: string;
  /** The module's timeout from the status message (ms). */
  moduleTimeoutMs: number;
  clock: Clock;
}

const EMPTY = new Uint8Array(0);

/** Answer before the module's own deadline: a margin of 1 s, at most a quarter of the time. */
export function providerDeadlineMs(moduleTimeoutMs: number): number {
  return Math.max(0, moduleTimeoutMs - Math.min(1000, moduleTimeoutMs / 4));
}

function refuse(outcome: 'timeout' | 'certificateInvalid', text: string): CertificateAnswer {
  return { status: CertificateResponseStatus[outcome], exiResponse: EMPTY, text, level: 'warn', outcome };
}

/** Asks the provider, racing it against the deadline on the injected clock. */
export async function answerCertificateRequest(input: CertificateAnswerInput, signal?: AbortSignal): Promise<CertificateAnswer> {
  const what = input.kind === 'installation' ? 'Certificate installation' : 'Certificate update';
  if (!input.offered) return refuse('certificateInvalid', `${what} not offered (certificate_${input.kind}_support is off): answering certificate invalid`);
  const provider = input.provider;
  if (!provider) return refuse('certificateInvalid', `${what}: no certificate provider configured: answering certificate invalid`);
  const deadlineMs = providerDeadlineMs(input.moduleTimeoutMs);
  const abort = new AbortController();
  signal?.addEventListener('abort', () => abort.abort(), { once: true });
  let timer: number | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = input.clock.setTimeout(() => resolve('late'), deadlineMs);
  });
  const request: CertificateRequest = { kind: input.kind, exiRequest: input.exiRequest, evccId: input.evccId, timeoutMs: deadlineMs, signal: abort.signal };
  const asked = (input.kind === 'installation' ? provider.install(request) : provider.update(request)).then(
    (bytes) => ({ bytes }),
    (e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }),
  );
  const result = await Promise.race([asked, late]);
  if (timer !== undefined) input.clock.clearTimeout(timer);
  if (result === 'late') {
    abort.abort();
    return refuse('timeout', `${what}: ${provider.name} gave no answer within ${deadlineMs} ms: answering timeout`);
  }
  if ('error' in result) return refuse('certificateInvalid', `${what}: ${provider.name} failed (${result.error}): answering certificate invalid`);
  if (result.bytes === undefined) return refuse('certificateInvalid', `${what}: ${provider.name} has no response for this request: answering certificate invalid`);
  const problem = exiResponseProblem(result.bytes);
  if (problem) return refuse('certificateInvalid', `${what}: ${provider.name} gave an unusable response (${problem}): answering certificate invalid`);
  return {
    status: CertificateResponseStatus.success,
    exiResponse: result.bytes,
    text: `${what}: answered by ${provider.name} (${result.bytes.length} bytes of EXI)`,
    level: 'info',
    outcome: 'success',
  };
}

/** The actor the EVSE session invokes (never rejects: every failure is a refusal). */
export const certificateAnswerLogic = fromPromise<CertificateAnswer, CertificateAnswerInput>(({ input, signal }) => answerCertificateRequest(input, signal));
