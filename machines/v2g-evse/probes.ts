/**
 * The EVSE session's probes, each offering the answer to a status message lost on the HCI link
 * (the module has no query for its session state): Authorization Status Requested (seventh round),
 * Schedules Requested (eighth round) and Start Charging Requested (ninth round).
 */
import { authorizationProbe } from './authorization-probe.js';
import { schedulesProbe } from './schedules-probe.js';
import { startChargingProbe } from './start-charging-probe.js';

export { startChargingProbeInputOf } from './start-charging-probe.js';

export const probes = { authorizationProbe, schedulesProbe, startChargingProbe };
