/**
 * Plug & Charge on the EVSE session: the contract (EMAID, chain) from Payment Selected is logged,
 * recorded and used by the allow-list; certificate installation/update requests are answered
 * through the provider within the module's timeout, or refused with the right status.
 */
import { describe, expect, it } from 'vitest';
import { chargerMachine } from '../../machines/charger.js';
import { evseConfig } from '../../machines/config.js';
import type { AuthorizationPolicy } from '../../machines/authorization-policy.js';
import { type CertificateProvider, type CertificateRequest, withV2gtpHeader } from '../../machines/certificate-provider.js';
import { v2gEvseSessionMachine } from '../../machines/v2g-evse-session.js';
import type { SessionRecord } from '../../machines/station-events.js';
import { VirtualClock, flushMicrotasks } from '../../util/clock.js';
import { StubHciClient, advanceBy, harness } from '../helpers/machines-stub.js';

const EVCC = Uint8Array.of(0, 1, 1, 0x63, 0x77, 0x31);
const LEAF = Uint8Array.of(0x30, 0x82, 1, 2, 3);
const SUB2 = Uint8Array.of(0x30, 0x82, 4, 5);
const EMAID = 'DE8ACC12345678X';
const EXI_REQUEST = withV2gtpHeader(Uint8Array.of(0x80, 0x04, 1, 2));
const EXI_RESPONSE = withV2gtpHeader(Uint8Array.of(0x80, 0x05, 9, 9, 9));

function start(o: { policy?: AuthorizationPolicy; provider?: CertificateProvider; install?: boolean } = {}) {
  const clock = new VirtualClock();
  const client = new StubHciClient(clock);
  const config = evseConfig({ paymentMethods: [0, 1], certificateInstallationSupport: o.install ?? true, certificateUpdateSupport: true });
  const input = { client, clock, config, policy: o.policy ?? { mode: 'acceptAll' }, ...(o.provider ? { certificateProvider: o.provider } : {}) };
  const h = harness(v2gEvseSessionMachine, input, clock, [{ systemId: 'charger', logic: chargerMachine, input: { clock, config: config.charger } }]);
  const step = async (ms = 0): Promise<void> => {
    await flushMicrotasks();
    if (ms) await advanceBy(clock, ms);
    await flushMicrotasks();
  };
  return { clock, client, h, step };
}

async function session(t: ReturnType<typeof start>): Promise<void> {
  await t.step();
  t.client.sent.length = 0;
  t.client.status('V2g.EvseSessionStarted', { protocol: 1, sessionId: new Uint8Array(8), evccId: EVCC });
  await t.step();
}

const contractPayment = { selectedPaymentMethod: 1, contract: { contractCertificate: LEAF, moSubCa2: SUB2, moSubCa1: new Uint8Array(0), emaid: EMAID } };
const certificateAnswers = (t: ReturnType<typeof start>) => t.client.sent.filter((c) => c.name === 'V2g.EvseSetCertificateInstallationOrUpdateResponse');
const record = (t: ReturnType<typeof start>): SessionRecord | undefined => (t.h.events().find((e) => e.type === 'xstate.done.actor.child') as { output?: SessionRecord } | undefined)?.output;

/** A provider whose answer the test controls. */
function provider(answer: (r: CertificateRequest) => Promise<Uint8Array | undefined>): CertificateProvider & { requests: CertificateRequest[] } {
  const requests: CertificateRequest[] = [];
  const ask = (r: CertificateRequest): Promise<Uint8Array | undefined> => {
    requests.push(r);
    return answer(r);
  };
  return { name: 'test provider', install: ask, update: ask, requests };
}

describe('EVSE session: Plug & Charge contract', () => {
  it('logs and records the EMAID and chain; an EMAID on the allow-list authorizes an unknown EVCC ID', async () => {
    const t = start({ policy: { mode: 'allowList', evccIds: ['aa:bb:cc:dd:ee:ff'], emaids: ['de-8ac-c12345678-x'] } });
    await session(t);
    t.client.status('V2g.EvsePaymentSelected', contractPayment);
    t.client.status('V2g.EvseAuthorizationStatusRequested', { timeoutMs: 60_000 });
    await t.step();
    expect(t.client.sent.map((c) => [c.name, c.fields])).toEqual([['V2g.EvseSetAuthorizationStatus', { result: 0 }]]);
    expect(t.h.logs()).toContain('Selected payment method: PnC');
    expect(t.h.logs()).toContain(`Contract: EMAID ${EMAID}, certificate chain of 2 (5 + 4 bytes)`);
    t.client.status('V2g.EvseSessionStopped', { closureType: 0 });
    await t.step();
    expect(record(t)).toMatchObject({
      paymentMethod: 'PnC',
      contract: { emaid: EMAID, certificateChain: [Buffer.from(LEAF).toString('base64'), Buffer.from(SUB2).toString('base64')] },
    });
  });

  it('an EMAID not on the list (and an EVCC ID not on it) is refused; EIM sessions record no contract', async () => {
    const t = start({ policy: { mode: 'allowList', evccIds: [], emaids: ['DE8ACC00000000'] } });
    await session(t);
    t.client.status('V2g.EvsePaymentSelected', contractPayment);
    t.client.status('V2g.EvseAuthorizationStatusRequested', { timeoutMs: 60_000 });
    await t.step();
    expect(t.client.sent.map((c) => c.fields)).toEqual([{ result: 1 }]);

    const eim = start({ policy: { mode: 'allowList', evccIds: ['000101637731'], emaids: [EMAID] } });
    await session(eim);
    eim.client.status('V2g.EvsePaymentSelected', { selectedPaymentMethod: 0 });
    eim.client.status('V2g.EvseAuthorizationStatusRequested', { timeoutMs: 60_000 });
    await eim.step();
    eim.client.status('V2g.EvseSessionStopped', { closureType: 0 });
    await eim.step();
    expect(eim.client.sent.map((c) => c.fields)).toEqual([{ result: 0 }]);
    expect(record(eim)?.paymentMethod).toBe('EIM');
    expect(record(eim)?.contract).toBeUndefined();
  });

  it('the interactive policy is asked with the EMAID', async () => {
    const asked: Array<{ evccId: string; emaid?: string }> = [];
    const t = start({ policy: { mode: 'interactive', ask: async (r) => (asked.push({ evccId: r.evccId, ...(r.emaid ? { emaid: r.emaid } : {}) }), true) } });
    await session(t);
    t.client.status('V2g.EvsePaymentSelected', contractPayment);
    t.client.status('V2g.EvseAuthorizationStatusRequested', { timeoutMs: 60_000 });
    await t.step();
    expect(asked).toEqual([{ evccId: '000101637731', emaid: EMAID }]);
  });
});

describe('EVSE session: certificate installation and update through the provider', () => {
  it('answers success with the provider bytes, and hands it the request, EVCC ID and a deadline inside the timeout', async () => {
    const p = provider(async () => EXI_RESPONSE);
    const t = start({ provider: p });
    await session(t);
    t.client.status('V2g.EvseCertificateInstallationRequested', { timeoutMs: 4500, exiRequest: EXI_REQUEST });
    await t.step();
    expect(certificateAnswers(t).map((c) => c.fields)).toEqual([{ status: 0, exiResponse: EXI_RESPONSE }]);
    expect(p.requests.map((r) => [r.kind, [...r.exiRequest], r.evccId, r.timeoutMs])).toEqual([['installation', [...EXI_REQUEST], '000101637731', 3500]]);
    expect(t.h.logs()).toContain(`Certificate installation: answered by test provider (${EXI_RESPONSE.length} bytes of EXI)`);
    t.client.sent.length = 0;
    t.client.status('V2g.EvseCertificateUpdateRequested', { timeoutMs: 4500, exiRequest: EXI_REQUEST });
    t.client.status('V2g.EvseSessionStopped', { closureType: 0 });
    await t.step();
    expect(p.requests.at(-1)?.kind).toBe('update');
  });

  it('refuses with certificate invalid (one warning line) when the provider has nothing, fails or gives a broken response', async () => {
    const cases: Array<[() => Promise<Uint8Array | undefined>, string]> = [
      [async () => undefined, 'Certificate installation: test provider has no response for this request: answering certificate invalid'],
      [async () => Promise.reject(new Error('disk on fire')), 'Certificate installation: test provider failed (disk on fire): answering certificate invalid'],
      [async () => Uint8Array.of(1, 2, 3), 'Certificate installation: test provider gave an unusable response (no V2GTP EXI header (01 fe 80 01)): answering certificate invalid'],
    ];
    for (const [answer, line] of cases) {
      const t = start({ provider: provider(answer) });
      await session(t);
      t.client.status('V2g.EvseCertificateInstallationRequested', { timeoutMs: 4500, exiRequest: EXI_REQUEST });
      await t.step();
      expect(certificateAnswers(t).map((c) => c.fields)).toEqual([{ status: 2, exiResponse: new Uint8Array(0) }]);
      expect(t.h.logs()).toContain(line);
    }
  });

  it('a provider too slow for the module: answers timeout before the module deadline (virtual clock) and aborts it', async () => {
    let aborted = false;
    const t = start({
      provider: provider((r) => new Promise(() => r.signal.addEventListener('abort', () => (aborted = true)))),
    });
    await session(t);
    t.client.status('V2g.EvseCertificateInstallationRequested', { timeoutMs: 4500, exiRequest: EXI_REQUEST });
    await t.step(3400);
    expect(certificateAnswers(t)).toEqual([]);
    await t.step(200);
    const answers = certificateAnswers(t);
    expect(answers.map((c) => c.fields)).toEqual([{ status: 1, exiResponse: new Uint8Array(0) }]);
    expect(answers[0]?.at).toBeLessThan(4500);
    expect(aborted).toBe(true);
    expect(t.h.logs()).toContain('Certificate installation: test provider gave no answer within 3500 ms: answering timeout');
    t.client.status('V2g.EvseSessionStopped', { closureType: 0 });
    await t.step();
    expect(record(t)?.certificateService).toEqual({ kind: 'installation', outcome: 'timeout' });
  });

  it('without a provider, or with the service not offered, the request is refused (certificate invalid)', async () => {
    const none = start();
    await session(none);
    none.client.status('V2g.EvseCertificateInstallationRequested', { timeoutMs: 4500, exiRequest: EXI_REQUEST });
    await none.step();
    expect(certificateAnswers(none).map((c) => c.fields.status)).toEqual([2]);
    expect(none.h.logs()).toContain('Certificate installation: no certificate provider configured: answering certificate invalid');

    const p = provider(async () => EXI_RESPONSE);
    const off = start({ provider: p, install: false });
    await session(off);
    off.client.status('V2g.EvseCertificateInstallationRequested', { timeoutMs: 4500, exiRequest: EXI_REQUEST });
    await off.step();
    expect(certificateAnswers(off).map((c) => c.fields.status)).toEqual([2]);
    expect(p.requests).toEqual([]);
  });
});
