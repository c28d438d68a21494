// Inclusion proofs of closed receipts. A closed epoch never changes (a trigger refuses it), so its
// tree is built once from its stored leaves and kept for the epochs asked about most recently.
import type postgres from 'postgres';
import { buildMerkleTree, type MerkleTree } from '../../domain/data/merkle.js';
import { bundleOf, type ReceiptBundle, type ReceiptEpoch } from '../../domain/serving/receipts.js';
import { epochLeaves, findReceiptEpoch, type ClosedCall } from '../../db/queries/receipts.js';
import { HttpError } from '../errors.js';

const KEPT = 32;

export class EpochTrees {
  private readonly trees = new Map<string, Promise<{ tree: MerkleTree; epoch: ReceiptEpoch }>>();

  constructor(private readonly sql: postgres.Sql) {}

  private epoch(model: string, n: number): Promise<{ tree: MerkleTree; epoch: ReceiptEpoch }> {
    const key = `${model}\u0000${n}`;
    let hit = this.trees.get(key);
    if (hit) {
      // Most recently used last.
      this.trees.delete(key);
      this.trees.set(key, hit);
      return hit;
    }
    hit = (async () => {
      const [e, leaves] = await Promise.all([findReceiptEpoch(this.sql, model, n), epochLeaves(this.sql, model, n)]);
      if (!e) throw new HttpError(500, `receipts of ${model} name epoch ${n}, which has no root`);
      const tree = buildMerkleTree(leaves);
      const epoch = { model, epoch: n, root: e.root, size: e.size, closedAt: e.closedAt.toISOString() };
      return { tree, epoch };
    })();
    this.trees.set(key, hit);
    void hit.catch(() => this.trees.delete(key));
    if (this.trees.size > KEPT) this.trees.delete(this.trees.keys().next().value as string);
    return hit;
  }

  /** A closed call's receipt, its proof and its epoch. */
  async bundle(c: ClosedCall): Promise<ReceiptBundle> {
    const { tree, epoch } = await this.epoch(c.modelName, c.epoch);
    return bundleOf(c, c.leaf, tree, epoch);
  }
}
