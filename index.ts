/**
 * `freev2g`: the host for WHITE-beet ISO 15118 modules as a library (see docs/library.md).
 *
 *   const clock = new VirtualClock(Date.now());
 *   const pair = createSimulatedPair({ clock, scenario: parseScenario({}) });
 *   const evse = createEvseStation({ client: createHciClient({ transport: pair.evseHost, clock }), clock, config: evseConfig() });
 *   evse.on('sessionEnded', (e) => console.log(e.record));
 *
 * Subpaths: `freev2g/codec` (pure, browser-safe), `freev2g/transports`, `freev2g/sim`.
 */
export * from './machines/index.js';
export * from './transports/index.js';
export {
  createSimulatedPair,
  createSimulatedModule,
  parseScenario,
  loadScenario,
  builtinScenarioPath,
  type Scenario,
  type ScenarioInput,
  type SimulatedPair,
  type SimulatedPairOptions,
} from './sim/index.js';
export { type Clock, RealClock, VirtualClock } from './util/clock.js';
export { decodeMessage, encodeRequest, lookup, type DecodedMessage } from './codec/catalog.js';
