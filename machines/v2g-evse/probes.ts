/**
 * The EVSE session's probes, each offering the answer to a status message lost on the HCI link
 * (the module has no query for its session state): Authorization Status Requested (seventh round)
 * and Schedules Requested (eighth round).
 */
import { authorizationProbe } from './authorization-probe.js';
import { schedulesProbe } from './schedules-probe.js';

export const probes = { authorizationProbe, schedulesProbe };
