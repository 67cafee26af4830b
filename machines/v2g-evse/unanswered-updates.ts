/**
 * A bound of its own on unanswered Update DC/AC Charging Parameters while energy flows (issue 12
 * item 13, fuzz campaign run 5 seed 253035). The host's other judges do not see a module that
 * answers Ping but not the V2G service: the commander calls a module silent only when nothing at
 * all came from it (hci-actors.ts SILENCE_MS), and the module's own sequence timeout (60 s,
 * ISO 15118-2 V2G_SECC_Sequence_Timeout) is for a car that went quiet, far too long with the
 * output on and nobody taking the host's present values.
 *
 * 2 s: the module needs an update at least every 500 ms in the charge loop (manual 18.10.4) and
 * ends the session with error 23 when one is missing (FreeV2G 0x76). Updates unanswered for four
 * times that long mean either none reached it (its session is over by its own rule) or its V2G
 * service is stuck; either way nobody is carrying the session the output is for. One lost frame
 * either way costs one update: a run of 2 s is about ten in a row (5 a second), which the fuzz
 * campaign's link faults (a few per cent) do not produce by chance.
 */
import type { CommanderEvent } from '../hci-actors.js';
import { HciError } from '../hci-types.js';
import { logEvent } from '../station-events.js';
import { type EvseSessionContext, act, toParent } from './common.js';

export const UNANSWERED_UPDATES_BOUND_MS = 2_000;

type Failed = Extract<CommanderEvent, { type: 'hci.failed' }>;

/** An update that got no answer in time (a refusal is an answer: moduleGone judges 0x11). */
const unansweredUpdate = (e: Failed): boolean => e.tag === 'update' && e.error instanceof HciError && e.error.kind === 'timeout';

/** This failure is an unanswered update and the run it belongs to has lasted the bound. */
export function updatesUnansweredTooLong({ context, event }: { context: EvseSessionContext; event: { type: string } }): boolean {
  const since = context.updates.unansweredSince;
  return unansweredUpdate(event as Failed) && since !== undefined && context.clock.now() - since >= UNANSWERED_UPDATES_BOUND_MS;
}

export const unansweredUpdateActions = {
  /** The first unanswered update of a run starts it (the book is written in place, updates.ts). */
  noteUnansweredUpdate: act(({ enqueue, context, event }) => {
    if (!unansweredUpdate(event as Failed)) return;
    const book = context.updates;
    const now = context.clock.now();
    enqueue(() => {
      book.unansweredSince ??= now;
    });
  }),
  updatesUnanswered: act(({ enqueue, self, context }) => {
    const sinceMs = context.clock.now() - (context.updates.unansweredSince ?? context.clock.now());
    const detail = `no Update Charging Parameters answered for ${(sinceMs / 1000).toFixed(1)} s while energy was flowing`;
    toParent(enqueue, self, logEvent('EVSE', `Session ended: ${detail}; output to 0`, 'error'));
    enqueue.assign({ error: { name: 'updatesUnanswered', detail } });
    if (!context.stopReason) enqueue.assign({ stopReason: 'updatesUnanswered' });
  }),
};
