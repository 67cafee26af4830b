/**
 * The `ocpp` key of a configuration file (docs/ocpp.md): the backend link of the process, beside
 * the station of a single-station file or beside `stations` in a multi-station file. It is the
 * file's counterpart of `--ocpp`, `--ocpp-password`, `--ocpp-ca` and `--ocpp-queue`; the command
 * line and the environment win key by key. Relative paths are relative to the file's directory.
 *
 *   "ocpp": { "url": "wss://csms.example/ocpp/CP-1", "password": "...", "ca_file": "csms-ca.pem",
 *             "queue_file": "ocpp-queue.jsonl", "meter_values_interval": 30 }
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { splitOcppUrl } from '../ocpp/url.js';
import { ConfigError, issueText } from './errors.js';
import { type Json, isObject } from './json.js';

/** What is wrong with an OCPP URL (splitOcppUrl's check, in the words of a file value), if anything. */
function urlProblem(url: string): string | undefined {
  try {
    splitOcppUrl(url);
    return undefined;
  } catch (e) {
    return e instanceof TypeError || /ws:\/\/ or wss:\/\//.test((e as Error).message)
      ? 'expected a ws:// or wss:// URL ending with the charge point id'
      : 'expected a URL ending with the charge point id (ws://csms/ocpp/<id>)';
  }
}

const ocppSection = z.strictObject({
  url: z
    .string()
    .max(2048)
    .superRefine((url, ctx) => {
      const problem = urlProblem(url);
      if (problem) ctx.addIssue({ code: 'custom', input: url, message: problem });
    }),
  /** Security profile 1/2: HTTP basic auth password (OCPP 1.6 security: 16-40 characters; any 1-256 taken). */
  password: z.string().min(1).max(256).optional(),
  /** Security profile 2: the CA (PEM) the CSMS's TLS certificate must chain to (default: the system's). */
  ca_file: z.string().min(1).max(4096).optional(),
  /** Journal of transaction messages waiting for the CSMS (default ./ocpp-queue.jsonl beside the working directory). */
  queue_file: z.string().min(1).max(4096).optional(),
  /** MeterValueSampleInterval at start, in s (0: none); the CSMS may change it. */
  meter_values_interval: z.number().int().min(0).max(3600).optional(),
});

/** The file's OCPP settings in our names, paths resolved. */
export interface OcppFileSettings {
  url: string;
  password?: string;
  caFile?: string;
  queueFile?: string;
  meterValuesIntervalS?: number;
  /** The file it came from (for messages). */
  source: string;
}

/** The `ocpp` key of a parsed file (raw: the file's JSON), checked; undefined when it has none. */
export function ocppOfFile(raw: Json, where: string): OcppFileSettings | undefined {
  if (!isObject(raw) || raw.ocpp === undefined) return undefined;
  const r = ocppSection.safeParse(raw.ocpp, { reportInput: true });
  if (!r.success) {
    const issue = r.error.issues[0] as z.core.$ZodIssue;
    throw new ConfigError(`${where}: ${['ocpp', ...issue.path.map(String)].join('.')}: ${issueText(issue)}`);
  }
  const o = r.data;
  const base = dirname(resolve(where));
  const caFile = o.ca_file !== undefined ? resolve(base, o.ca_file) : undefined;
  if (caFile !== undefined) checkCaFile(caFile, `${where}: ocpp.ca_file`);
  return {
    url: o.url,
    source: where,
    ...(o.password !== undefined ? { password: o.password } : {}),
    ...(caFile !== undefined ? { caFile } : {}),
    ...(o.queue_file !== undefined ? { queueFile: resolve(base, o.queue_file) } : {}),
    ...(o.meter_values_interval !== undefined ? { meterValuesIntervalS: o.meter_values_interval } : {}),
  };
}

/** A CA file must exist and hold a PEM certificate: refused at start rather than at the first TLS handshake. */
export function checkCaFile(path: string, what: string): void {
  if (!existsSync(path)) throw new ConfigError(`${what}: file not found: ${path}`);
  if (!readFileSync(path, 'latin1').includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError(`${what}: expected a PEM certificate file, got ${path}`);
}
