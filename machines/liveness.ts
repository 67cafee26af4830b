/**
 * Module liveness in every phase (issue 12 item 8). Silence detection on commands only works
 * while the host sends commands; in phases where nothing is expected from the module (waiting
 * for a car, SLAC matching, waiting for the EV's next request) a dead or restarted module went
 * unnoticed until a protocol timeout (50 s of SLAC matching). So: whenever nothing arrived from
 * the module for `idleMs`, ping it (framing Ping, manual 10.3.2). No Ping Reply within
 * `timeoutMs` reports `module.silent` to the parent, once. Worst case from the last frame to the
 * report: 2 * idleMs + timeoutMs (default 400 + 400 + 1000 = 1.8 s). While frames flow (the charge
 * loop) nothing is sent; at rest it costs one ping round trip per `idleMs`.
 */
import { fromCallback } from 'xstate';
import type { Clock, TimerId } from '../util/clock.js';
import type { HciClient } from './hci-types.js';

export interface LivenessInput {
  client: HciClient;
  clock: Clock;
  idleMs?: number;
  timeoutMs?: number;
}

export type LivenessEvent = { type: 'module.silent'; error: string };

export const LIVENESS_IDLE_MS = 400;
export const LIVENESS_TIMEOUT_MS = 1000;

export const livenessWatch = fromCallback<{ type: 'noop' }, LivenessInput>(({ input, sendBack }) => {
  const { client, clock } = input;
  const ping = client.checkAlive?.bind(client);
  if (!ping) return undefined;
  const idleMs = input.idleMs ?? LIVENESS_IDLE_MS;
  const timeoutMs = input.timeoutMs ?? LIVENESS_TIMEOUT_MS;
  let lastRxAt = clock.now();
  let pinging = false;
  let stopped = false;
  let timer: TimerId | undefined;
  const sub = client.traffic$.subscribe((t) => {
    if (t.dir === 'rx') lastRxAt = t.at;
  });
  const check = (): void => {
    timer = undefined;
    if (stopped) return;
    if (!pinging && clock.now() - lastRxAt >= idleMs) {
      pinging = true;
      ping(timeoutMs).then(
        () => (pinging = false),
        (e: unknown) => {
          if (stopped) return;
          stopped = true;
          sendBack({ type: 'module.silent', error: e instanceof Error ? e.message : String(e) } satisfies LivenessEvent);
        },
      );
    }
    if (!stopped) timer = clock.setTimeout(check, idleMs);
  };
  timer = clock.setTimeout(check, idleMs);
  return () => {
    stopped = true;
    sub.unsubscribe();
    if (timer !== undefined) clock.clearTimeout(timer);
  };
});
