/**
 * System (chapter 11), Framing ping (10.3.2), Time (chapter 12) and the Network Configuration
 * commands a host uses on a simulated module (port mirror, link and interface state, 13.3).
 */
import { Framing } from '../../codec/modules/framing.js';
import { SystemResultCode } from '../../codec/modules/system.js';
import { TimeResultCode, utcDateTime } from '../../codec/modules/time.js';
import { ResultCode } from '../../codec/message.js';
import { type ModuleContext, type Service, fail, ok } from '../module.js';

import { DEFAULT_FIRMWARE } from '../firmware-emulation.js';

/** Firmware strings as the reference README's version tables name them (the defaults emulated). */
export const FIRMWARE_VERSIONS = DEFAULT_FIRMWARE;
const PRODUCTS = { EVSE: 'WHITE-beet-EI', EV: 'WHITE-beet-PI' } as const;

export function createSystemService(ctx: ModuleContext, onRestart: () => void): Service {
  const bootedAt = ctx.clock.now();
  let serial = '';
  let saveMode = 1;
  return {
    module: 'System',
    handlers: {
      GetVersion: () => ok({ version: ctx.firmware.reported }),
      GetFirmwareVersion: () => ok({ version: ctx.firmware.reported }),
      GetMacAddress: () => ok({ mac: ctx.mac }),
      /** 11.3.4: the serial number can be written once. */
      SetSerialNumber: (m) => {
        if (serial !== '') return fail(ResultCode.unexpectedMessage);
        serial = m.fields.serialNumber as string;
        return ok();
      },
      GetSerialNumber: () => ok({ serialNumber: serial }),
      RestartSystem: () => {
        // After the response: the module goes away and comes back in its power-on state; real
        // modules reset only 5 s later (Sevenstax/FreeV2G#72, quirk `restart.resetAfterMs`).
        ctx.clock.setTimeout(onRestart, ctx.quirks.restart.resetAfterMs);
        return ok();
      },
      FactoryReset: () => {
        serial = '';
        saveMode = 1;
        ctx.clock.setTimeout(onRestart, 0);
        return ok();
      },
      SetSaveMode: (m) => {
        saveMode = m.fields.mode as number;
        return ok();
      },
      GetSaveMode: () => ok({ mode: saveMode }),
      SaveConfiguration: () => ok(),
      GetApiInfo: () => ok({ type: PRODUCTS[ctx.role], version: ctx.firmware.reported }),
      GetUptime: () => ok({ uptimeS: Math.floor((ctx.clock.now() - bootedAt) / 1000) }),
      GetKernelVersion: () => ok({ version: '4.19.0-sim' }),
      /** The simulated file system is empty. */
      GetFileHash: () => fail(SystemResultCode.fileNotFound),
    },
    reset() {
      // Serial number and save mode survive a restart (they are stored in flash).
    },
  };
}

/** 10.3.2: the reply carries the ping's request ID and data, on Sub-ID 0x01. */
export function createFramingService(ctx: ModuleContext): Service {
  return {
    module: 'Framing',
    handlers: {
      Ping: (m) => {
        ctx.emit(Framing.PingReply, { data: m.fields.data }, m.reqId);
        return ok();
      },
    },
    reset() {},
  };
}

/** 12.3: the module keeps an offset from its clock once the host set the time. */
export function createTimeService(ctx: ModuleContext): Service {
  const offsets = new Map<number, number>();
  return {
    module: 'Time',
    handlers: {
      SetTime: (m) => {
        const f = m.fields as Record<string, number>;
        const t = Date.UTC(f.year ?? 1970, (f.month ?? 1) - 1, f.day ?? 1, f.hour ?? 0, f.minute ?? 0, f.seconds ?? 0);
        offsets.set(f.type ?? 0, t - ctx.clock.now());
        return ok();
      },
      GetTime: (m) => {
        const offset = offsets.get(m.fields.type as number);
        if (offset === undefined) return fail(TimeResultCode.noValidTime);
        return ok(utcDateTime(ctx.clock.now() + offset));
      },
    },
    reset() {
      offsets.clear();
    },
  };
}

/** 13.3: port mirror (the reference switches it on to capture V2G traffic) and link state. */
export function createNetworkService(ctx: ModuleContext): Service {
  let mirror = 0;
  let mirrorConfig = { sniffingInterface: 'plc0', outInterface: 'eth0' };
  const ifaceState = new Map<number, number>();
  return {
    module: 'NetworkConfiguration',
    handlers: {
      SetPortMirrorState: (m) => {
        mirror = m.fields.state as number;
        return ok();
      },
      GetPortMirrorState: () => ok({ state: mirror }),
      SetPortMirrorConfiguration: (m) => {
        mirrorConfig = { sniffingInterface: m.fields.sniffingInterface as string, outInterface: m.fields.outInterface as string };
        return ok();
      },
      GetPortMirrorConfiguration: () => ok({ ...mirrorConfig }),
      /** The PLC link is up once SLAC matched. */
      GetLinkStatus: () => ok({ linkStatus: ctx.cable.plcLinkUp }),
      SetInterfaceState: (m) => {
        ifaceState.set(m.fields.index as number, m.fields.state as number);
        return ok();
      },
      GetInterfaceState: (m) => ok({ state: ifaceState.get(m.fields.index as number) ?? 1 }),
    },
    reset() {
      mirror = 0;
      ifaceState.clear();
    },
  };
}
