/**
 * `freev2g/transports`: moving HCI frames. `eth` needs the optional `pcap` package (libpcap-dev),
 * `spi` the optional `spi-device` and `onoff`; both are loaded only when opened.
 */
export * from './transport.js';
export { createMemoryPair, type MemoryPairOptions, type MemoryTransport } from './memory.js';
export { createEthTransport, type EthTransport, type EthTransportOptions } from './eth.js';
export { createSpiTransport, openSpiTransport, type OpenSpiOptions, type SpiTransport, type SpiTransportOptions } from './spi.js';
