// What every paid OpenAI-compatible answer carries besides OpenAI's own fields: the receipt id,
// the fee and the attribution, in headers (which wrappers keep) and in the `commons` extension.
import { RECEIPT_HEADER } from '../inference/receipts.js';
import type { Receipted } from '../inference/paid-answer.js';
import type { CommonsExtension } from '../schemas/openai.js';

/** The attribution header stays well below common proxies' header size limits. */
const MAX_ATTRIBUTION_HEADER = 4096;

/** `contributor;w=weight` pairs, comma-separated, cut to the header budget. */
function attributionHeader(c: CommonsExtension['attribution']['contributors']): string {
  let out = '';
  for (const x of c) {
    const part = `${out ? ',' : ''}${x.contributor};w=${x.weight.toFixed(6)}`;
    if (out.length + part.length > MAX_ATTRIBUTION_HEADER) break;
    out += part;
  }
  return out;
}

export function commonsOf(r: Receipted): CommonsExtension {
  return {
    callId: r.receipt,
    receipt: r.receipt,
    model: r.v.modelName,
    version: r.v.version,
    fee: r.fee.toString(),
    attribution: { contributors: r.attribution.contributors, records: r.attribution.records },
  };
}

export function paidHeaders(r: Receipted): Record<string, string> {
  return {
    [RECEIPT_HEADER]: r.receipt,
    'x-commons-fee': r.fee.toString(),
    'x-commons-model-version': `${r.v.modelName}@${r.v.version}`,
    'x-commons-attribution': attributionHeader(r.attribution.contributors),
  };
}
