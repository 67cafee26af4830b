/**
 * The OCPP link's settings and its URL, apart from the charge point so the command line can check
 * them without loading the OCPP client.
 */

export interface OcppSettings {
  /** ws(s)://host/path/<chargePointId>: the last path segment is the charge point's identity. */
  url: string;
  /** Security profile 1/2: HTTP basic auth password (never logged). */
  password?: string;
  /** Security profile 2: PEM file of the CA the CSMS's TLS certificate chains to (default: the system's CAs). */
  caFile?: string;
  /** MeterValueSampleInterval at start (s); the CSMS may change it. */
  meterValuesIntervalS?: number;
  /** Journal of the transaction message queue (default ./ocpp-queue.jsonl). */
  queueFile?: string;
  queueMax?: number;
  vendor?: string;
  model?: string;
}

/** "wss://user:pw@host/ocpp/CP-1" -> endpoint "wss://host/ocpp", identity "CP-1" (credentials dropped). */
export function splitOcppUrl(url: string): { endpoint: string; identity: string; shown: string; password?: string } {
  const u = new URL(url);
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') throw new Error(`--ocpp must be a ws:// or wss:// URL, got "${u.protocol}"`);
  const parts = u.pathname.split('/').filter(Boolean);
  const identity = decodeURIComponent(parts.pop() ?? '');
  if (identity === '') throw new Error('--ocpp URL must end with the charge point id (ws://csms/ocpp/<id>)');
  const password = u.password !== '' ? decodeURIComponent(u.password) : undefined;
  u.username = '';
  u.password = '';
  u.pathname = `/${parts.join('/')}`;
  const endpoint = u.toString().replace(/\/$/, '');
  return { endpoint, identity, shown: `${endpoint}/${identity}`, ...(password !== undefined ? { password } : {}) };
}
