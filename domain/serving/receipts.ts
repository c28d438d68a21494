// A paid call's verifiable receipt (docs/receipts.md): its canonical bytes, its leaf in the Merkle
// tree of its settlement epoch (the dataset proofs' tree, domain/data/merkle.ts), and the offline
// check a contributor runs with `commons verify-receipt`. Written to be re-implemented from the doc.
import { hash } from 'node:crypto';
import { merkleRoot, verifyProof, type MerkleProof } from '../data/merkle.js';

export const RECEIPT_FORMAT = 'commons-receipt/1';

/** The ledger transfer that carried one part of a call's fee (a group commit's aggregate of its batch). */
export interface ReceiptTransfer {
  /** The ledger's transfer id. */
  id: number;
  idempotencyKey: string;
  from: string;
  to: string;
  /** What the transfer moved: this call's part and those of the batch's other calls to the same recipient. */
  amount: string;
  /** Calls of the batch this transfer pays for. */
  calls: number;
}

/** A receipt's content, exactly what its leaf hashes: integers and strings only, never a float. */
export interface Receipt {
  format: typeof RECEIPT_FORMAT;
  id: string;
  model: string;
  version: number;
  proposalId: string | null;
  payer: string;
  /** OPEN base units. */
  fee: string;
  /** SHA-256 of the input (the conversation as JSON), never the text. */
  inputHash: string | null;
  createdAt: string;
  /** The group commit that charged the call. */
  settlement: string;
  /** The settlement epoch whose Merkle root commits this receipt. */
  epoch: number;
  /** Attribution weights in millionths (integer ppm). */
  contributors: { contributor: string; weightPpm: number }[];
  records: { hash: string; contributor: string; influencePpm: number }[];
  splits: { to: string; part: string; amount: string; transfer: ReceiptTransfer | null }[];
}

/** A closed settlement epoch of a model's receipts, as the API publishes it. */
export interface ReceiptEpoch {
  model: string;
  epoch: number;
  /** Merkle root over the epoch's receipt leaves. */
  root: string;
  /** Receipts in the epoch. */
  size: number;
  closedAt: string;
}

/** What a contributor keeps: the receipt, its inclusion proof and the epoch it names. */
export interface ReceiptBundle {
  receipt: Receipt;
  proof: MerkleProof;
  epoch: ReceiptEpoch;
}

/** A float as integer millionths: what a receipt states of a weight. */
export const ppm = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1_000_000) : 0);

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, numbers only as safe integers
 * (a float's text is not stable across writers), undefined refused.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`canonical JSON holds integers only, got ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON cannot hold ${typeof value}`);
}

/** The receipt's leaf: SHA-256 of its canonical JSON (the tree hashes it again as H(0x00 ‖ leaf)). */
export function receiptLeaf(r: Receipt): string {
  return hash('sha256', canonicalJson(r), 'hex');
}

/**
 * Every reason a receipt bundle does not verify against a trusted epoch (the root published by the
 * API or recorded by the model entity, never the one inside the bundle); empty when it verifies.
 */
export function receiptProblems(b: ReceiptBundle, trusted: Pick<ReceiptEpoch, 'model' | 'epoch' | 'root'>): string[] {
  try {
    return bundleProblems(b, trusted);
  } catch (err) {
    // A file that is not a bundle at all (a field missing, an amount that is not an integer).
    return [`not a well-formed receipt bundle: ${(err as Error).message}`];
  }
}

function bundleProblems(b: ReceiptBundle, trusted: Pick<ReceiptEpoch, 'model' | 'epoch' | 'root'>): string[] {
  const problems: string[] = [];
  const r = b.receipt;
  if (r.format !== RECEIPT_FORMAT) return [`unknown receipt format ${String(r.format)}`];
  if (r.model !== trusted.model) problems.push(`the receipt is for model ${r.model}, the root for ${trusted.model}`);
  if (r.epoch !== trusted.epoch)
    problems.push(`the receipt is in epoch ${r.epoch}, the root is epoch ${trusted.epoch}`);
  let leaf: string;
  try {
    leaf = receiptLeaf(r);
  } catch (err) {
    return [...problems, `the receipt is not canonical: ${(err as Error).message}`];
  }
  if (b.proof.leaf !== leaf) problems.push(`the receipt hashes to ${leaf}, the proof is for leaf ${b.proof.leaf}`);
  else if (!verifyProof(b.proof, trusted.root))
    problems.push(`the inclusion proof does not lead to the root ${trusted.root}`);
  problems.push(...splitProblems(r));
  return problems;
}

/** The fee split's own consistency: it sums to the fee and each part names the transfer that paid it. */
export function splitProblems(r: Receipt): string[] {
  const problems: string[] = [];
  let sum = 0n;
  for (const [i, s] of r.splits.entries()) {
    const amount = BigInt(s.amount);
    sum += amount;
    const t = s.transfer;
    if (t === null) {
      if (s.to !== r.payer && amount !== 0n)
        problems.push(`split ${i} (${s.part} to ${s.to}) moved ${s.amount} with no transfer`);
      continue;
    }
    if (t.from !== r.payer) problems.push(`split ${i}: transfer ${t.id} is from ${t.from}, not the payer ${r.payer}`);
    if (t.to !== s.to) problems.push(`split ${i}: transfer ${t.id} paid ${t.to}, not ${s.to}`);
    if (BigInt(t.amount) < amount)
      problems.push(`split ${i}: transfer ${t.id} moved ${t.amount}, less than this part's ${s.amount}`);
    if (!t.idempotencyKey.includes(`:${s.to}:${s.part}:`))
      problems.push(`split ${i}: transfer ${t.id} (${t.idempotencyKey}) is not the ${s.part} part to ${s.to}`);
    if (!t.idempotencyKey.startsWith(`infer:${r.settlement}:`))
      problems.push(`split ${i}: transfer ${t.id} is not of the call's settlement ${r.settlement}`);
  }
  if (sum !== BigInt(r.fee)) problems.push(`the split sums to ${sum}, the fee is ${r.fee}`);
  const named = new Set(r.contributors.map((c) => c.contributor));
  for (const s of r.splits)
    if (s.part === 'contributors' && !named.has(s.to))
      problems.push(`the split pays ${s.to} as a contributor the attribution does not name`);
  return problems;
}

/** A recorded call as the database holds it (weights as floats), with the transfers its splits name. */
export interface RecordedCall {
  id: string;
  modelName: string;
  version: number;
  proposalId: string | null;
  payer: string;
  fee: string;
  inputHash: string | null;
  createdAt: Date;
  settlementId: string;
  attribution: unknown;
  records: unknown;
  splits: { to: string; part: string; amount: string; transfer: string | null }[];
  /** The ledger transfers named by the splits, by idempotency key. */
  transfers: Map<string, Omit<ReceiptTransfer, 'idempotencyKey'>>;
}

const listOf = <T>(x: unknown): T[] => (Array.isArray(x) ? (x as T[]) : []);

/** The receipt of a recorded call in an epoch; throws when a split names a transfer the ledger lacks. */
export function receiptOf(c: RecordedCall, epoch: number): Receipt {
  return {
    format: RECEIPT_FORMAT,
    id: c.id,
    model: c.modelName,
    version: c.version,
    proposalId: c.proposalId,
    payer: c.payer,
    fee: c.fee,
    inputHash: c.inputHash,
    createdAt: c.createdAt.toISOString(),
    settlement: c.settlementId,
    epoch,
    contributors: listOf<{ contributor: string; weight: number }>(c.attribution).map((a) => ({
      contributor: a.contributor,
      weightPpm: ppm(a.weight),
    })),
    records: listOf<{ hash: string; contributor: string; influence: number }>(c.records).map((r) => ({
      hash: r.hash,
      contributor: r.contributor,
      influencePpm: ppm(r.influence),
    })),
    splits: c.splits.map((s) => {
      if (s.transfer === null) return { to: s.to, part: s.part, amount: s.amount, transfer: null };
      const t = c.transfers.get(s.transfer);
      if (!t) throw new Error(`receipt ${c.id}: the ledger has no transfer ${s.transfer}`);
      return { to: s.to, part: s.part, amount: s.amount, transfer: { ...t, idempotencyKey: s.transfer } };
    }),
  };
}

/** The accounts a receipt names: its attributed contributors and the recipients of its split. */
export function receiptParties(r: Receipt): string[] {
  return [...new Set([...r.contributors.map((c) => c.contributor), ...r.splits.map((s) => s.to)])];
}

/** The leaves of an epoch's receipts (in the calls' order) and the epoch's Merkle root over them. */
export function sealEpoch(calls: RecordedCall[], epoch: number): { leaves: string[]; root: string } {
  const leaves = calls.map((c) => receiptLeaf(receiptOf(c, epoch)));
  return { leaves, root: merkleRoot(leaves) };
}

/**
 * A closed call's bundle: its receipt, rebuilt from the row as it is now (so an edit made behind the
 * trigger's back shows as a leaf the proof does not name), and its proof from the epoch's stored leaves.
 */
export function bundleOf(
  c: RecordedCall & { epoch: number },
  storedLeaf: string,
  tree: { proof(leaf: string): MerkleProof | null },
  epoch: ReceiptEpoch,
): ReceiptBundle {
  const proof = tree.proof(storedLeaf);
  if (!proof) throw new Error(`receipt ${c.id}: its leaf is not in epoch ${epoch.epoch} of ${epoch.model}`);
  return { receipt: receiptOf(c, c.epoch), proof, epoch };
}
