// Receipt ids: a paid call's id (a random UUID), sent in the `x-commons-receipt` header and inside
// the answer's own id (`chatcmpl-<id>`, `resp_<id>`), which every framework keeps even when it drops
// unknown fields. GET /v1/receipts/:id takes any of these spellings.
import { hash } from 'node:crypto';

export const RECEIPT_HEADER = 'x-commons-receipt';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The call id inside a receipt id, a chat completion id or a response id; undefined when it holds none. */
export function receiptIdOf(id: string): string | undefined {
  const bare = id.replace(/^(chatcmpl-|resp_)/, '');
  return UUID.test(bare) ? bare : undefined;
}

/** What a receipt names of the input: its SHA-256, never its text. */
export function inputHashOf(input: unknown): string {
  return hash('sha256', JSON.stringify(input), 'hex');
}
