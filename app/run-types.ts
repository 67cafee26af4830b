/**
 * The types of `runStations` (app/run.ts): the stations to run, the run's options, the
 * integrations (MQTT, control API, OCPP) that see every station, and what a run returns.
 */
import type { HciClientHandle } from '../machines/hci-client.js';
import type { HciClient } from '../machines/hci-types.js';
import type { Dashboard } from './dashboard.js';
import type { SessionRecord, StationEmitted } from '../machines/station-events.js';
import type { Transport } from '../transports/transport.js';
import type { Clock } from '../util/clock.js';
import type { StationSettings } from './config.js';
import type { LogFormat } from './output/reporter.js';
import type { ControlSettings } from './control/index.js';
import type { CertificateProvider } from '../machines/certificate-provider.js';
import type { PowerStageBinding } from '../machines/power-stage.js';
import type { EvBatteryBinding } from '../machines/ev-battery.js';
import type { StationHandle } from './stations.js';

export interface RunStation {
  settings: StationSettings;
  transport: Transport;
  /** MAC addresses for the capture: the host's and the module's. */
  hostMac: string;
  moduleMac: string;
  /** Runs as the counterpart only: not printed, captured, recorded or shown on the dashboard. */
  quiet?: boolean;
  /**
   * Names the station in the log ("EVSE 00:01:01:63:77:33", the prefix when several run) and
   * tags its JSON lines and records with `moduleMac`. Without it the role names the station.
   */
  label?: string;
}

export interface RunOptions {
  stations: RunStation[];
  clock: Clock;
  logFormat: LogFormat;
  /** Ask the operator on the TTY for authorization (EVSE). */
  ask: boolean;
  capture?: string;
  records?: string;
  /** Dashboard port (0 = any free port) or undefined for none. */
  inspect?: number;
  /**
   * After the stations ended on their own, the dashboard keeps serving until SIGINT/SIGTERM
   * (the CLI's `--inspect`: a finished run stays readable); otherwise it closes with the run.
   */
  keepDashboard?: boolean;
  /** Stop after this many sessions per station (0 = run until a signal). */
  sessions: number;
  /** Human log: every charge-loop message (default condensed). */
  verbose?: boolean;
  /** For the status line's progress bar. */
  targetSocPercent?: number;
  /** Runs on each station's client before its station starts (eth: port mirror). */
  beforeStart?: (client: HciClient, station: RunStation) => Promise<void>;
  /** Called for each station once it runs (the sim's scenario script drives it). */
  onStation?: (station: RunStation, handle: StationHandle) => void;
  /** Called once the dashboard listens (tests read the URL from the output). */
  onDashboard?: (d: Dashboard) => void;
  /** Work left to do after the stations stopped (close the simulated pair...). */
  cleanup?: () => Promise<void> | void;
  /**
   * Sessions kept in memory for the result and the end-of-run summary (default 100): a run with
   * `sessions: 0` lasts months, and every record is on disk already.
   */
  retainSessions?: number;
  /** Where the log goes (default stdout). */
  out?: NodeJS.WriteStream;
  /**
   * Stations on separate modules (eth): one that stops on its own (an error, a module not
   * answering) is reported and the others go on. Otherwise (the simulated pair) it takes the
   * others down with it: its peer would wait for a partner that is gone.
   */
  independent?: boolean;
  integrations?: RunIntegration[];
  /** The control plane: MQTT, external authorization, the API and /metrics on the dashboard server. */
  control?: ControlSettings;
  /** Address the dashboard listens on (default 127.0.0.1; elsewhere needs control.httpToken). */
  httpHost?: string;
  /**
   * Module set-ups in a row before a station gives up in `failed` (machines/setup-retry.ts).
   * Default: no limit, the station keeps trying with back-off until a signal (`eth`, `spi`).
   */
  setUpAttempts?: number;
  /**
   * Once a station first waits for a vehicle, run the codec of its role once (app/warm-up.ts):
   * `eth` and `spi`, whose one-shot answers would otherwise run it cold on the wire.
   */
  warmUp?: boolean;
}

/**
 * Something beside the log that follows the stations and may steer them (the control API, the
 * metrics): told of each station as it starts and of everything it emits; may answer its
 * authorization requests; closed when the run ends.
 */
export interface RunIntegration {
  stationStarted(key: string, station: RunStation, handle: StationHandle, client: HciClientHandle): void;
  event(key: string, ev: StationEmitted): void;
  /** The EVSE station's external power stage (`--power-stage mqtt`), or undefined: simulated. */
  powerStageFor?(key: string, station: RunStation): PowerStageBinding | undefined;
  /** The EV station's external battery (`--ev-battery mqtt`), or undefined: simulated. */
  batteryFor?(key: string, station: RunStation): EvBatteryBinding | undefined;
  /** An authorization callback for an EVSE station (external authorization), or undefined. */
  authorizerFor?(key: string, station: RunStation): ((req: { evccId: string; emaid?: string; timeoutMs: number; signal: AbortSignal }) => Promise<boolean>) | undefined;
  /** Wraps an EVSE station's configured certificate provider (Plug & Charge through the backend). */
  certificateProviderFor?(key: string): ((configured: CertificateProvider | undefined) => CertificateProvider | undefined) | undefined;
  close(): Promise<void>;
}

export interface RunResult {
  exitCode: number;
  /** The last `retainSessions` records of the run. */
  records: SessionRecord[];
  /** Sessions recorded in the run, including those no longer retained. */
  sessionCount: number;
  interrupted: boolean;
}
