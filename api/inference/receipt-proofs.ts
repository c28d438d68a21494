// Inclusion proofs of closed receipts. A closed epoch never changes (a trigger refuses it), so its
// tree is built once from its stored leaves and kept for the epochs asked about most recently, up to
// a number of leaves (a tree holds about 96 bytes per receipt: the leaves and every level).
import type postgres from 'postgres';
import { merkleTreeOfPacked, type MerkleTree } from '../../domain/data/merkle.js';
import { bundleOf, type ReceiptBundle, type ReceiptEpoch } from '../../domain/serving/receipts.js';
import { epochLeaves, findReceiptEpoch, type ClosedCall } from '../../db/queries/receipts.js';
import { HttpError } from '../errors.js';

/** Leaves of the trees kept (about 190 MB), and trees; the most recent is kept whatever its size. */
const KEPT_LEAVES = 2_000_000;
const KEPT_TREES = 1024;

export class EpochTrees {
  private readonly trees = new Map<string, Promise<{ tree: MerkleTree; epoch: ReceiptEpoch }>>();
  /** Receipts of each kept epoch, by key (known once its row is read). */
  private readonly sizes = new Map<string, number>();

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
      const e = await findReceiptEpoch(this.sql, model, n);
      if (!e) throw new HttpError(500, `receipts of ${model} name epoch ${n}, which has no root`);
      this.sizes.set(key, e.size);
      this.evict(key);
      const tree = merkleTreeOfPacked(await epochLeaves(this.sql, model, n, e.size));
      if (tree.root !== e.root)
        throw new HttpError(500, `the stored leaves of epoch ${n} of ${model} do not give its root`);
      const epoch = { model, epoch: n, root: e.root, size: e.size, closedAt: e.closedAt.toISOString() };
      return { tree, epoch };
    })();
    this.trees.set(key, hit);
    void hit.catch(() => {
      this.trees.delete(key);
      this.sizes.delete(key);
    });
    return hit;
  }

  /** Drops the least recently used trees while the kept ones are too many or too large. */
  private evict(keep: string): void {
    let total = 0;
    for (const size of this.sizes.values()) total += size;
    for (const key of this.trees.keys()) {
      if (total <= KEPT_LEAVES && this.trees.size <= KEPT_TREES) break;
      if (key === keep) continue;
      total -= this.sizes.get(key) ?? 0;
      this.trees.delete(key);
      this.sizes.delete(key);
    }
  }

  /** A closed call's receipt, its proof and its epoch. */
  async bundle(c: ClosedCall): Promise<ReceiptBundle> {
    const { tree, epoch } = await this.epoch(c.modelName, c.epoch);
    return bundleOf(c, c.leaf, tree, epoch);
  }
}
