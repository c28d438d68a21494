import { describe, expect, it } from 'vitest';
import { buildMerkleTree } from '../data/merkle.js';
import {
  bundleOf,
  canonicalJson,
  receiptLeaf,
  receiptOf,
  receiptProblems,
  sealEpoch,
  type ReceiptEpoch,
  type RecordedCall,
} from './receipts.js';

const key = (to: string, part: string) => `infer:batch1:payer:${to}:${part}:prop-1`;

function call(id: string, over: Partial<RecordedCall> = {}): RecordedCall {
  return {
    id,
    modelName: 'spam',
    version: 2,
    proposalId: 'prop-1',
    payer: 'payer',
    fee: '100',
    inputHash: 'ab'.repeat(32),
    createdAt: new Date('2026-01-02T03:04:05.678Z'),
    settlementId: 'batch1',
    attribution: [
      { contributor: 'alice', weight: 0.6666666666666666 },
      { contributor: 'bob', weight: 0.3333333333333333 },
    ],
    records: [{ hash: 'cd'.repeat(32), contributor: 'alice', influence: 0.125 }],
    splits: [
      { to: 'dev', part: 'developer', amount: '50', transfer: key('dev', 'developer') },
      { to: 'alice', part: 'contributors', amount: '20', transfer: key('alice', 'contributors') },
      { to: 'bob', part: 'contributors', amount: '10', transfer: key('bob', 'contributors') },
      { to: 'treasury', part: 'treasury', amount: '20', transfer: key('treasury', 'treasury') },
    ],
    transfers: new Map(
      ['dev:developer:50', 'alice:contributors:40', 'bob:contributors:10', 'treasury:treasury:20'].map((s, i) => {
        const [to, part, amount] = s.split(':') as [string, string, string];
        return [key(to, part), { id: i + 1, from: 'payer', to, amount, calls: 2 }];
      }),
    ),
    ...over,
  };
}

/** Three calls sealed in epoch 7, and the bundle of the first as the API serves it. */
function sealed() {
  const calls = [call('c1'), call('c2', { fee: '100' }), call('c3')];
  const { leaves, root } = sealEpoch(calls, 7);
  const epoch: ReceiptEpoch = { model: 'spam', epoch: 7, root, size: 3, closedAt: '2026-01-02T04:00:00.000Z' };
  const tree = buildMerkleTree(leaves);
  return { calls, leaves, root, epoch, bundle: bundleOf({ ...calls[0]!, epoch: 7 }, leaves[0]!, tree, epoch) };
}

describe('receipts', () => {
  it('canonical JSON sorts keys, has no whitespace and refuses floats', () => {
    expect(canonicalJson({ b: [1, 'x', null], a: { d: true, c: -3 } })).toBe(
      '{"a":{"c":-3,"d":true},"b":[1,"x",null]}',
    );
    expect(() => canonicalJson({ w: 0.5 })).toThrow(/integers only/);
    expect(() => canonicalJson({ w: undefined })).toThrow(/undefined/);
  });

  it('states weights as integer ppm, so the leaf does not depend on how a float is printed', () => {
    const r = receiptOf(call('c1'), 7);
    expect(r.contributors).toEqual([
      { contributor: 'alice', weightPpm: 666667 },
      { contributor: 'bob', weightPpm: 333333 },
    ]);
    expect(r.records[0]?.influencePpm).toBe(125000);
    expect(r.splits[1]?.transfer).toEqual({
      id: 2,
      idempotencyKey: key('alice', 'contributors'),
      from: 'payer',
      to: 'alice',
      amount: '40',
      calls: 2,
    });
    expect(receiptLeaf(r)).toMatch(/^[0-9a-f]{64}$/);
    // The same call in another epoch is another receipt.
    expect(receiptLeaf(receiptOf(call('c1'), 8))).not.toBe(receiptLeaf(r));
  });

  it('verifies offline against the trusted root', () => {
    const { bundle, epoch } = sealed();
    expect(receiptProblems(bundle, epoch)).toEqual([]);
  });

  it('fails once tampered: a weight, a split, a contributor the call never paid', () => {
    const { bundle, epoch } = sealed();
    const weight = structuredClone(bundle);
    weight.receipt.contributors[0]!.weightPpm = 900000;
    expect(receiptProblems(weight, epoch).join()).toMatch(/the proof is for leaf/);
    const forged = structuredClone(bundle);
    forged.receipt.contributors.push({ contributor: 'mallory', weightPpm: 1 });
    forged.receipt.splits[3] = { to: 'mallory', part: 'contributors', amount: '20', transfer: null };
    const problems = receiptProblems(forged, epoch).join('\n');
    expect(problems).toMatch(/the proof is for leaf/);
    expect(problems).toMatch(/moved 20 with no transfer/);
  });

  it('names a malformed bundle instead of throwing', () => {
    const { bundle, epoch } = sealed();
    const broken = structuredClone(bundle) as unknown as { proof?: unknown; receipt: { fee: string } };
    delete broken.proof;
    expect(receiptProblems(broken as never, epoch)).toEqual([
      expect.stringMatching(/not a well-formed receipt bundle/),
    ]);
    const fee = structuredClone(bundle);
    fee.receipt.fee = '1.5';
    expect(receiptProblems(fee, epoch).join()).toMatch(/not a well-formed receipt bundle/);
  });

  it('a proof for one epoch or model does not verify against another', () => {
    const { bundle, epoch } = sealed();
    const next = sealEpoch([call('c4')], 8);
    expect(receiptProblems(bundle, { ...epoch, epoch: 8, root: next.root }).join('\n')).toMatch(
      /the receipt is in epoch 7, the root is epoch 8[\s\S]*does not lead to the root/,
    );
    expect(receiptProblems(bundle, { ...epoch, model: 'other' }).join()).toMatch(/for model spam, the root for other/);
    // Renaming the model in the receipt changes its leaf.
    const renamed = structuredClone(bundle);
    renamed.receipt.model = 'other';
    expect(receiptProblems(renamed, { ...epoch, model: 'other' }).join()).toMatch(/the proof is for leaf/);
  });

  it('checks the split against the fee and against the transfers it names', () => {
    const r = receiptOf(call('c1'), 7);
    const wrong = structuredClone(r);
    wrong.splits[0]!.amount = '51';
    wrong.splits[1]!.transfer!.to = 'bob';
    wrong.splits[2]!.transfer!.amount = '9';
    const { bundle, epoch } = sealed();
    const problems = receiptProblems({ ...bundle, receipt: wrong }, epoch).join('\n');
    expect(problems).toMatch(/sums to 101, the fee is 100/);
    expect(problems).toMatch(/paid bob, not alice/);
    expect(problems).toMatch(/moved 9, less than this part's 10/);
  });
});
