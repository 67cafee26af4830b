/**
 * The simulated WHITE-beet modules: public API (see docs/simulator.md).
 */
export { createSimulatedPair, type SimulatedPair, type SimulatedPairOptions } from './pair.js';
export {
  createSimulatedModule,
  DEFAULT_MACS,
  macToBytes,
  type SimulatedModule,
  type SimulatedModuleOptions,
} from './simulated-module.js';
export { VirtualCable, type CableEvent } from './cable.js';
export type { FaultConfig, LinkFaults, ModuleFaults } from './faults.js';
export { SESSION_PHASES, type SessionPhase } from './phases.js';
export { builtinScenarioPath, loadScenario, parseScenario, scenarioSchema, type HostAction, type Scenario, type ScenarioInput } from './scenario.js';
export type { Role, TrafficEntry } from './module.js';
export { FIRMWARE_VERSIONS } from './services/system.js';
export { SimGpio } from './sim-gpio.js';
export { SimSpiSlave, serveOverSpi, type SpiSlaveOptions, type TransferRecord } from './spi-slave.js';
