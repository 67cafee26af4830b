/**
 * Plug & Charge contract data (manual 18.12.2 Payment Selected): when the EV pays by contract
 * (PnC), the module reports the contract certificate, the mobility operator sub-CAs 2 and 1 and
 * the EMAID (e-Mobility Account Identifier). The session logs them, hands the EMAID to the
 * authorization policy and records them (certificates as base64 DER, leaf first).
 */
import { PAYMENT_METHODS, enumName } from '../codec/modules/v2g/common.js';

export interface Contract {
  /** As the module reported it (14-15 characters, ISO 15118-2 without separators). */
  emaid: string;
  /** Contract certificate, MO Sub-CA 2, MO Sub-CA 1 (those present), base64 DER, leaf first. */
  certificateChain: string[];
}

export interface PaymentSelection {
  paymentMethod: string;
  contract?: Contract;
}

/** Payment Selected's fields as the codec decodes them. */
export function paymentSelection(fields: Record<string, unknown>): PaymentSelection {
  const paymentMethod = enumName(PAYMENT_METHODS, Number(fields.selectedPaymentMethod));
  const c = fields.contract as { contractCertificate?: Uint8Array; moSubCa2?: Uint8Array; moSubCa1?: Uint8Array; emaid?: string } | undefined;
  if (!c || typeof c.emaid !== 'string') return { paymentMethod };
  const certificateChain = [c.contractCertificate, c.moSubCa2, c.moSubCa1].filter((b): b is Uint8Array => b instanceof Uint8Array && b.length > 0).map((b) => Buffer.from(b).toString('base64'));
  return { paymentMethod, contract: { emaid: c.emaid, certificateChain } };
}

/**
 * EMAIDs compare without separators and case: "DE-8AC-C12345678-X" (the printed form with
 * dashes) and "de8acc12345678x" are the same contract. The check digit is not added or dropped:
 * an allow-list entry of 14 characters does not match a 15-character EMAID.
 */
export function normaliseEmaid(emaid: string): string {
  return emaid.replace(/[^0-9a-z]/gi, '').toUpperCase();
}

/** The log lines for a contract: EMAID and the chain's sizes (never whole certificates). */
export function describeContract(c: Contract): string {
  const sizes = c.certificateChain.map((b64) => Buffer.from(b64, 'base64').length);
  return `Contract: EMAID ${c.emaid}, certificate chain of ${sizes.length} (${sizes.join(' + ')} bytes)`;
}
