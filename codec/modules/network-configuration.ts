/** Network Configuration module, module 0x05 (manual chapter 13). */
import { moduleDefs } from '../message.js';
import { bool, enumU8, fixedBytes, repeatToEnd, string, struct, u16, u8 } from '../schema.js';

const { command, status } = moduleDefs('NetworkConfiguration', 0x05);

/** 13.3.1-13.3.6, 13.4.1/13.4.2: the interface a command addresses. */
export const NETWORK_INTERFACES = ['accessPoint', 'station'] as const;
export const NetworkInterface = { accessPoint: 0, station: 1 } as const;
const iface = enumU8(NETWORK_INTERFACES);

/** 13.3.1 / 13.3.5: what to do with the given address. */
export const ADDRESS_COMMANDS = ['delete', 'add'] as const;
export const AddressCommand = { delete: 0, add: 1 } as const;
const addressCommand = enumU8(ADDRESS_COMMANDS);

/** 13.3.8-13.3.11. */
export const ON_OFF = ['off', 'on'] as const;
const onOff = enumU8(ON_OFF);

/**
 * 13.3.7: interface type. A plain uint8 (0xFF means "uninitialized", outside the 0-3 list);
 * these are the names of the known values.
 */
export const InterfaceType = { uart: 0, lan: 1, wlan: 2, rndis: 3, uninitialized: 0xff } as const;
/** 13.3.7: interface mode. */
export const INTERFACE_MODES = ['unspecified', 'station', 'accessPoint'] as const;

const ipv6Address = fixedBytes(16);

/** 13.3.7: one record per interface, repeated to the end of the payload (no count byte). */
const interfaceInfo = struct({ index: u8, type: u8, name: string(0, 16), mode: enumU8(INTERFACE_MODES) });

export const NetworkConfiguration = {
  SetIpv6Configuration: command({
    name: 'SetIpv6Configuration',
    subId: 0x42,
    section: '13.3.1',
    request: { interface: iface, command: addressCommand, ipAddress: ipv6Address },
  }),
  /** 13.3.2: the address at one index of the interface's IP table. */
  GetIpv6Configuration: command({
    name: 'GetIpv6Configuration',
    subId: 0x43,
    section: '13.3.2',
    request: { interface: iface, index: u16 },
    response: { ipv6Address },
  }),
  GetLinkStatus: command({ name: 'GetLinkStatus', subId: 0x4a, section: '13.3.3', request: { interface: iface }, response: { linkStatus: bool } }),
  /** 13.3.4: an ICMP echo to an IPv4 address (uint8[4] in the manual); answered by EchoReceived or PingFailed. */
  Ping: command({ name: 'Ping', subId: 0x4b, section: '13.3.4', request: { interface: iface, ipAddress: fixedBytes(4) } }),
  SetIpv6RouterConfiguration: command({
    name: 'SetIpv6RouterConfiguration',
    subId: 0x4c,
    section: '13.3.5',
    request: { interface: iface, command: addressCommand, ipv6Address },
  }),
  GetIpv6RouterConfiguration: command({
    name: 'GetIpv6RouterConfiguration',
    subId: 0x4d,
    section: '13.3.6',
    request: { interface: iface, index: u16 },
    response: { ipv6Address },
  }),
  GetInterfaceInfo: command({ name: 'GetInterfaceInfo', subId: 0x50, section: '13.3.7', response: { interfaces: repeatToEnd(interfaceInfo, 255) } }),
  SetInterfaceState: command({ name: 'SetInterfaceState', subId: 0x51, section: '13.3.8', request: { index: u8, state: onOff } }),
  GetInterfaceState: command({ name: 'GetInterfaceState', subId: 0x52, section: '13.3.9', request: { index: u8 }, response: { state: onOff } }),
  SetPortMirrorState: command({ name: 'SetPortMirrorState', subId: 0x55, section: '13.3.10', request: { state: onOff } }),
  GetPortMirrorState: command({ name: 'GetPortMirrorState', subId: 0x56, section: '13.3.11', response: { state: onOff } }),
  /** 13.3.12: interface names as length-prefixed strings (the example omits the length bytes). */
  SetPortMirrorConfiguration: command({
    name: 'SetPortMirrorConfiguration',
    subId: 0x57,
    section: '13.3.12',
    request: { sniffingInterface: string(0, 32), outInterface: string(0, 32) },
  }),
  GetPortMirrorConfiguration: command({
    name: 'GetPortMirrorConfiguration',
    subId: 0x58,
    section: '13.3.13',
    response: { sniffingInterface: string(0, 32), outInterface: string(0, 32) },
  }),
  InterfaceDown: status({ name: 'InterfaceDown', subId: 0x80, section: '13.4.1', payload: { interface: iface } }),
  InterfaceUp: status({ name: 'InterfaceUp', subId: 0x81, section: '13.4.2', payload: { interface: iface } }),
  /** 13.4.3: sent with the request ID of the Ping it answers. */
  EchoReceived: status({ name: 'EchoReceived', subId: 0x82, section: '13.4.3', payload: { rttMs: u16 } }),
  PingFailed: status({ name: 'PingFailed', subId: 0x83, section: '13.4.4' }),
} as const;
