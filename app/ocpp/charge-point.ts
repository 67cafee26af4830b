/**
 * The EVSE stations of a process as one OCPP 1.6J charge point (`--ocpp ws://csms/.../<id>`), one
 * connector per EVSE station, over ocpp-rpc with strict schema validation. It follows the
 * stations through the control plane's controller (app/control/controller.ts) and steers them
 * only through it, so a remote stop, an availability change or a charging limit takes the same
 * safe path as a local command.
 *
 * Core: BootNotification (retried at the interval the CSMS gives), Heartbeat, StatusNotification
 * on every status change, Authorize, Start/StopTransaction, periodic MeterValues (meter-values.ts),
 * Change/GetConfiguration, ChangeAvailability, Reset, DataTransfer, TriggerMessage. Remote:
 * RemoteStart/StopTransaction, UnlockConnector. Smart charging: Set/ClearChargingProfile,
 * GetCompositeSchedule (smart-charging.ts). Offline: transaction messages wait in a persistent
 * queue (queue.ts) and go out in order on reconnect; authorization falls back to the local policy.
 * Handlers of the CSMS's requests are in csms-requests.ts, authorization in authorizer.ts, the
 * Plug & Charge DataTransfer messages in pnc-messages.ts and certificate-provider.ts.
 */
import { readFileSync } from 'node:fs';
import { RPCClient } from 'ocpp-rpc';
import type { AuthorizationPolicy } from '../../machines/authorization-policy.js';
import type { Clock } from '../../util/clock.js';
import type { ControlEvent, StationController, StationState } from '../control/controller.js';
import { Configuration, configurationKeys } from './configuration.js';
import { Connector, connectorStatus, stopReasonOf } from './connector.js';
import { registerCsmsRequests } from './csms-requests.js';
import { type StationAuthorizer, ocppAuthorizer } from './authorizer.js';
import { restartMeterValues } from './meter-values.js';
import type { ContractData } from './pnc-messages.js';
import { followPause, pauseStep, pauseTransaction, stopPausedTransaction } from './pause.js';
import { TransactionQueue } from './queue.js';
import { compositeLimitAt, nextChange } from './smart-charging.js';
import { splitOcppUrl } from './url.js';

export type { OcppSettings } from './url.js';
import type { OcppSettings } from './url.js';

type RpcClient = InstanceType<typeof RPCClient>;
type Params = Record<string, unknown>;

const isContract = (v: unknown): v is ContractData => typeof v === 'object' && v !== null && typeof (v as ContractData).emaid === 'string' && Array.isArray((v as ContractData).certificateChain);

export class OcppChargePoint {
  readonly connectors: Connector[] = [];
  readonly config: Configuration;
  readonly queue: TransactionQueue;
  private readonly rpc: RpcClient;
  private readonly unobserve: () => void;
  private booted = false;
  private online = false;
  private closed = false;
  private pumping = false;
  private heartbeatTimer?: number;
  private bootTimer?: number;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private readonly shown: string;

  constructor(
    readonly controller: StationController,
    readonly clock: Clock,
    private readonly settings: OcppSettings,
    readonly log: (text: string) => void,
    /** The configured policy per station: decides when the CSMS cannot (offline, timeout). */
    readonly localPolicy: (station: string) => AuthorizationPolicy,
  ) {
    const { endpoint, identity, shown, password: inUrl } = splitOcppUrl(settings.url);
    const password = settings.password ?? inUrl;
    this.shown = shown;
    this.config = new Configuration(configurationKeys(0));
    if (settings.meterValuesIntervalS !== undefined) this.config.setByChargePoint('MeterValueSampleInterval', String(settings.meterValuesIntervalS));
    this.queue = new TransactionQueue(settings.queueFile, settings.queueMax, log);
    this.rpc = new RPCClient({
      endpoint,
      identity,
      protocols: ['ocpp1.6'],
      strictMode: true,
      callTimeoutMs: 10_000,
      reconnect: true,
      backoff: { initialDelay: 500, maxDelay: 10_000, factor: 2, randomisationFactor: 0.25 },
      ...(password !== undefined ? { password } : {}),
      // Security profile 2: the CSMS's certificate is checked against this CA (ws's `ca`, Node TLS).
      ...(settings.caFile !== undefined ? { wsOpts: { ca: readFileSync(settings.caFile) } } : {}),
    } as ConstructorParameters<typeof RPCClient>[0]);
    this.stopInterrupted();
    registerCsmsRequests(this, this.rpc);
    this.rpc.on('open', () => this.onOpen());
    this.rpc.on('close', () => this.onLost());
    this.rpc.on('disconnect', () => this.onLost());
    this.unobserve = controller.observe((ev) => this.onControlEvent(ev));
    this.connect();
  }

  connector(id: number): Connector | undefined {
    return this.connectors.find((c) => c.id === id);
  }

  connectorOf(station: string): Connector | undefined {
    return this.connectors.find((c) => c.station === station);
  }

  /** Where the EVSE's certificates are (its certs_folder): GetInstalledCertificateIds reports them. */
  certsFolder = '.';

  /** Adds an EVSE station as the next connector. */
  addStation(station: string, certsFolder?: string): Connector {
    if (certsFolder !== undefined && this.connectors.length === 0) this.certsFolder = certsFolder;
    const c = new Connector(this.connectors.length + 1, station);
    this.connectors.push(c);
    this.config.setByChargePoint('NumberOfConnectors', String(this.connectors.length));
    return c;
  }

  /**
   * Transactions the journal left open were cut by a crash or a power loss (the process ended
   * without their StopTransaction): stopped now with the last register queued, reason PowerLoss,
   * as a charge point that lost power reports it (OCPP 1.6 Reason "PowerLoss"), so the CSMS closes them.
   */
  private stopInterrupted(): void {
    for (const o of this.queue.interrupted) {
      this.log(`OCPP: transaction ${o.localTx} was still running when the host stopped: StopTransaction queued (PowerLoss, ${o.meterWh} Wh)`);
      this.queue.push('StopTransaction', { idTag: o.idTag, meterStop: Math.round(o.meterWh), timestamp: o.at || new Date(this.clock.now()).toISOString(), reason: 'PowerLoss' }, o.localTx);
    }
  }

  /** A clean shutdown gives the central system a moment for what is queued (it stays in the journal otherwise). */
  private async drain(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (this.isOnline && this.queue.size > 0 && Date.now() < until) {
      void this.pump();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async close(): Promise<void> {
    await this.drain(3000);
    this.closed = true;
    this.unobserve();
    for (const t of [this.heartbeatTimer, this.bootTimer]) if (t !== undefined) this.clock.clearTimeout(t);
    for (const c of this.connectors) for (const t of [c.meterTimer, c.limitTimer]) if (t !== undefined) this.clock.clearTimeout(t);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    await this.rpc.close({ force: true }).catch(() => undefined);
    this.queue.close();
  }

  /** Resolves once BootNotification was accepted (tests, and the CLI's start-up line). */
  async booting(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.booted) {
      if (Date.now() > until) throw new Error(`OCPP: not accepted by ${this.shown} within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get isOnline(): boolean {
    return this.online && this.booted;
  }

  /** A call to the CSMS; undefined when offline or it failed (logged once per call). */
  async call(method: string, params: Params): Promise<Params | undefined> {
    if (!this.online) return undefined;
    try {
      return (await this.rpc.call(method, params)) as Params;
    } catch (e) {
      this.log(`OCPP: ${method} failed: ${(e as Error).message}`);
      return undefined;
    }
  }

  // --- connection and boot ---------------------------------------------------------------

  private connect(): void {
    if (this.closed) return;
    this.rpc.connect().catch((e: Error) => {
      // ocpp-rpc reconnects by itself only after a first success: until then, retry here.
      this.log(`OCPP: cannot reach ${this.shown} (${e.message}); charging goes on by the local policy, retrying`);
      this.reconnectTimer = setTimeout(() => this.connect(), 2000);
      this.reconnectTimer.unref();
    });
  }

  private onOpen(): void {
    this.online = true;
    this.log(`OCPP: connected to ${this.shown}`);
    if (!this.booted) void this.boot();
    else void this.afterOnline();
  }

  private onLost(): void {
    if (!this.online) return;
    this.online = false;
    if (!this.closed) this.log('OCPP: connection lost; transactions are queued and charging goes on');
    if (!this.closed && this.rpc.state === RPCClient.CLOSED) this.connect();
  }

  async boot(): Promise<void> {
    if (this.bootTimer !== undefined) this.clock.clearTimeout(this.bootTimer);
    const res = await this.call('BootNotification', {
      chargePointVendor: this.settings.vendor ?? 'freev2g',
      chargePointModel: this.settings.model ?? 'WHITE-beet host',
    });
    if (!res) return;
    const interval = Number(res.interval) > 0 ? Number(res.interval) : 60;
    if (res.status !== 'Accepted') {
      this.log(`OCPP: BootNotification ${String(res.status)}; again in ${interval} s`);
      this.bootTimer = this.clock.setTimeout(() => void this.boot(), interval * 1000);
      return;
    }
    this.booted = true;
    this.config.change('HeartbeatInterval', String(interval));
    this.log(`OCPP: accepted by ${this.shown} (heartbeat every ${interval} s)`);
    await this.afterOnline();
  }

  private async afterOnline(): Promise<void> {
    if (!this.booted) return;
    this.restartHeartbeat();
    await this.sendStatus(0, 'Available');
    for (const c of this.connectors) await this.sendStatus(c.id, c.status);
    void this.pump();
  }

  restartHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) this.clock.clearTimeout(this.heartbeatTimer);
    const beat = (): void => {
      this.heartbeatTimer = this.clock.setTimeout(() => {
        void this.call('Heartbeat', {});
        beat();
      }, this.config.seconds('HeartbeatInterval') * 1000);
    };
    beat();
  }

  async sendStatus(connectorId: number, status: string, errorCode = 'NoError', info?: string): Promise<void> {
    if (!this.isOnline) return;
    await this.call('StatusNotification', { connectorId, status, errorCode, timestamp: new Date(this.clock.now()).toISOString(), ...(info ? { info } : {}) });
  }

  // --- the transaction queue ---------------------------------------------------------------

  /** Sends queued transaction messages in order while online; each leaves the queue when answered. */
  async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      for (let item = this.queue.peek(); item && this.isOnline; item = this.queue.peek()) {
        const transactionId = this.queue.transactionId(item.localTx);
        if (item.method !== 'StartTransaction' && transactionId === undefined) {
          // Its StartTransaction was refused for good: the CSMS has no id to file it under.
          this.queue.ack(item.seq);
          continue;
        }
        const params = item.method === 'StartTransaction' ? item.params : { ...item.params, transactionId };
        let res: Params;
        try {
          res = (await this.rpc.call(item.method, params)) as Params;
        } catch (e) {
          if (!this.online || /closed|not connected|disconnect/i.test((e as Error).message)) break;
          this.log(`OCPP: ${item.method} refused (${(e as Error).message}); dropped from the queue`);
          this.queue.ack(item.seq);
          continue;
        }
        if (item.method === 'StartTransaction') {
          const id = Number(res.transactionId);
          this.queue.setTransactionId(item.localTx, id);
          const info = res.idTagInfo as { status?: string } | undefined;
          if (info?.status !== undefined && info.status !== 'Accepted') this.deauthorized(item.localTx, info.status);
        }
        this.queue.ack(item.seq);
      }
    } finally {
      this.pumping = false;
    }
  }

  private deauthorized(localTx: number, status: string): void {
    const c = this.connectors.find((k) => k.tx?.localTx === localTx);
    if (!c?.tx) return;
    this.log(`OCPP: transaction of connector ${c.id} not authorized (${status}): stopping it`);
    this.stopTransaction(c, 'DeAuthorized');
  }

  enqueue(method: 'StartTransaction' | 'MeterValues' | 'StopTransaction', params: Params, localTx: number): void {
    this.queue.push(method, params, localTx);
    void this.pump();
  }

  /** The CSMS's id of a connector's running transaction (undefined until StartTransaction was answered). */
  transactionIdOf(c: Connector): number | undefined {
    return c.tx ? this.queue.transactionId(c.tx.localTx) : undefined;
  }

  // --- following the stations ------------------------------------------------------------

  private onControlEvent(ev: ControlEvent): void {
    const c = this.connectorOf(ev.station);
    if (!c) return;
    if (ev.kind === 'event' && ev.event.type === 'authorization') c.idTag = (ev.event.emaid ?? ev.event.evccId).slice(0, 20);
    // Payment Selected's log line carries the contract (machines/contract.ts): PnC Authorize needs its chain.
    if (ev.kind === 'event' && ev.event.type === 'log' && isContract(ev.event.data?.contract)) c.contract = ev.event.data.contract;
    if (ev.kind === 'record') {
      if (ev.record.closure === 'pause' && c.tx) pauseTransaction(this, c, ev.record.energyDeliveredWh);
      else this.endTransaction(c, ev.record);
      const s = this.controller.state(c.station);
      return s ? this.updateStatus(c, s) : undefined;
    }
    if (ev.kind !== 'state') return;
    const s = ev.state;
    if (c.tx?.paused) followPause(this, c, pauseStep(s, ev.changed, c.tx.stopReason));
    if (s.phase === 'charging' && !c.tx) this.startTransaction(c);
    if (s.phase === 'waitingForVehicle') {
      c.sessionOpen = false;
      c.contract = undefined;
      c.refuseResume = false;
    }
    c.sessionWh = c.tx && !c.tx.paused ? s.energyWh : 0;
    this.updateStatus(c, s);
  }

  updateStatus(c: Connector, s: StationState): void {
    const status = connectorStatus(c, s);
    if (status !== c.status) {
      c.status = status;
      void this.sendStatus(c.id, status, status === 'Faulted' ? 'OtherError' : 'NoError', status === 'Faulted' ? 'station error' : undefined);
    }
  }

  private startTransaction(c: Connector): void {
    const now = this.clock.now();
    const idTag = (c.remote && c.remote.until > now ? c.remote.idTag : c.idTag) ?? 'unknown';
    c.remote = undefined;
    c.sessionOpen = true;
    c.tx = { localTx: this.queue.newLocalTx(), idTag: idTag.slice(0, 20), startedAt: now, meterStartWh: c.meterWh() };
    this.enqueue('StartTransaction', { connectorId: c.id, idTag: c.tx.idTag, meterStart: c.tx.meterStartWh, timestamp: new Date(now).toISOString() }, c.tx.localTx);
    restartMeterValues(this, c);
    this.applyProfiles(c);
  }

  /** RemoteStopTransaction, Reset: through the station's stop path, or at once while paused (pause.ts). */
  stopTransaction(c: Connector, reason: string): void {
    if (!c.tx) return;
    c.tx.stopReason = reason;
    if (c.tx.paused) return stopPausedTransaction(this, c, reason);
    this.controller.execute(c.station, { command: 'stop' });
  }

  private endTransaction(c: Connector, record: Parameters<typeof stopReasonOf>[0]): void {
    c.registerWh += Math.max(0, record.energyDeliveredWh);
    this.closeTransaction(c, (tx) => stopReasonOf(record, tx.stopReason));
  }

  closeTransaction(c: Connector, reasonOf: (tx: NonNullable<Connector['tx']>) => string): void {
    c.sessionWh = 0;
    const tx = c.tx;
    c.tx = undefined;
    if (c.meterTimer !== undefined) this.clock.clearTimeout(c.meterTimer);
    // TxProfiles end with their transaction.
    c.profiles = c.profiles.filter((p) => p.chargingProfilePurpose !== 'TxProfile');
    this.applyProfiles(c);
    if (c.scheduledAvailability) {
      this.controller.execute(c.station, { command: c.scheduledAvailability === 'Inoperative' ? 'disable' : 'enable' });
      c.scheduledAvailability = undefined;
    }
    if (!tx) return;
    this.enqueue('StopTransaction', { idTag: tx.idTag, meterStop: c.meterWh(), timestamp: new Date(this.clock.now()).toISOString(), reason: reasonOf(tx) }, tx.localTx);
  }

  // --- smart charging --------------------------------------------------------------------

  /** The composite limit in force becomes the station's limit; re-evaluated when it may change. */
  applyProfiles(c: Connector): void {
    if (c.limitTimer !== undefined) this.clock.clearTimeout(c.limitTimer);
    const now = this.clock.now();
    const txId = this.transactionIdOf(c);
    const tx = c.tx ? { startedAt: c.tx.startedAt, ...(txId !== undefined ? { transactionId: txId } : {}) } : {};
    const chargePoint = this.chargePointProfiles;
    const limits = compositeLimitAt(c.profiles, chargePoint, now, tx);
    const before = this.controller.state(c.station)?.limits;
    if (JSON.stringify(before ?? {}) !== JSON.stringify(limits)) {
      this.controller.applyLimits(c.station, limits);
      const shown = [limits.maxCurrentA !== undefined ? `${limits.maxCurrentA} A` : '', limits.maxPowerW !== undefined ? `${limits.maxPowerW} W` : ''].filter(Boolean).join(', ');
      this.log(`OCPP: connector ${c.id} limit ${shown || 'as configured'} (charging profiles)`);
    }
    const next = nextChange([...c.profiles, ...chargePoint], now, tx);
    if (next !== undefined) c.limitTimer = this.clock.setTimeout(() => this.applyProfiles(c), next - now);
  }

  /** Profiles of connector 0 (ChargePointMaxProfile, and defaults for every connector). */
  chargePointProfiles: Connector['profiles'] = [];

  // --- authorization -----------------------------------------------------------------------

  /** The station's authorization through the CSMS (authorizer.ts). */
  authorizer(station: string): StationAuthorizer {
    return ocppAuthorizer(this, station);
  }
}
