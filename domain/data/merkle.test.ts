import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  buildMerkleTree,
  EMPTY_ROOT,
  MerkleRootBuilder,
  merkleRoot,
  merkleTreeOfPacked,
  verifyProof,
  type MerkleProof,
} from './merkle.js';

/** xs[i] for an index the test knows is in range; fails the test naming the index otherwise. */
function at<T>(xs: ArrayLike<T>, i: number): T {
  const x = xs[i];
  if (x === undefined) throw new Error(`no element ${i} (length ${xs.length})`);
  return x;
}

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const hashes = (n: number, salt = ''): string[] => Array.from({ length: n }, (_, i) => sha(`record-${salt}-${i}`));

// Independent verifier written from the scheme comment only (no code shared with merkle.ts).
function independentVerify(leafHex: string, siblings: { hash: string; position: string }[], rootHex: string): boolean {
  let node = createHash('sha256')
    .update(Buffer.concat([Buffer.from([0]), Buffer.from(leafHex, 'hex')]))
    .digest();
  for (const s of siblings) {
    const sib = Buffer.from(s.hash, 'hex');
    const pair = s.position === 'left' ? [sib, node] : [node, sib];
    node = createHash('sha256')
      .update(Buffer.concat([Buffer.from([1]), ...pair]))
      .digest();
  }
  return node.toString('hex') === rootHex;
}

// Independent root: recursive build over the sorted unique set with odd-node promotion.
function independentRoot(input: string[]): string {
  let level: Buffer[] = [...new Set(input.map((h) => h.toLowerCase()))].sort().map((h) =>
    createHash('sha256')
      .update(Buffer.concat([Buffer.from([0]), Buffer.from(h, 'hex')]))
      .digest(),
  );
  if (level.length === 0) return createHash('sha256').digest('hex');
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(
        i + 1 < level.length
          ? createHash('sha256')
              .update(Buffer.concat([Buffer.from([1]), at(level, i), at(level, i + 1)]))
              .digest()
          : at(level, i),
      );
    }
    level = next;
  }
  return at(level, 0).toString('hex');
}

describe('merkle', () => {
  it.each([1, 2, 3, 5, 7, 8, 13, 100, 1025])(
    'root matches an independent build and every proof verifies independently (%i leaves)',
    (n) => {
      const hs = hashes(n);
      const tree = buildMerkleTree(hs);
      expect(tree.root).toBe(independentRoot(hs));
      expect(tree.size).toBe(n);
      for (const h of hs) {
        const p = tree.proof(h);
        expect(p).not.toBeNull();
        const proof = p as MerkleProof;
        expect(proof.root).toBe(tree.root);
        expect(tree.leafAt(proof.index)).toBe(h);
        expect(independentVerify(proof.leaf, proof.siblings, tree.root)).toBe(true);
        expect(verifyProof(proof, tree.root)).toBe(true);
      }
    },
  );

  it('odd counts promote the last node (no duplication): 3 leaves differ from [a, b, c, c]', () => {
    const abc = hashes(3).sort();
    const c = at(abc, 2);
    const tree = buildMerkleTree(abc);
    const proofC = tree.proof(c) as MerkleProof;
    // c is promoted at level 0, so its only sibling is the (a, b) node on the left.
    expect(proofC.siblings).toHaveLength(1);
    expect(at(proofC.siblings, 0).position).toBe('left');
    expect(proofC.index).toBe(2);
  });

  it('is order-independent, case-insensitive and deduplicates', () => {
    const hs = hashes(50);
    const shuffled = [...hs].reverse().concat(hs.slice(0, 10).map((h) => h.toUpperCase()));
    expect(merkleRoot(shuffled)).toBe(merkleRoot(hs));
    expect(buildMerkleTree(shuffled).size).toBe(50);
  });

  it('rejects tampered proofs', () => {
    const hs = hashes(37);
    const tree = buildMerkleTree(hs);
    const proof = tree.proof(at(hs, 11)) as MerkleProof;
    const flip = (h: string): string => (h[0] === '0' ? '1' : '0') + h.slice(1);
    expect(verifyProof({ ...proof, leaf: at(hs, 12) }, tree.root)).toBe(false);
    expect(
      verifyProof(
        { ...proof, siblings: proof.siblings.map((s, i) => (i === 2 ? { ...s, hash: flip(s.hash) } : s)) },
        tree.root,
      ),
    ).toBe(false);
    expect(
      verifyProof(
        {
          ...proof,
          siblings: proof.siblings.map((s, i) =>
            i === 0 ? { ...s, position: s.position === 'left' ? 'right' : 'left' } : s,
          ),
        },
        tree.root,
      ),
    ).toBe(false);
    expect(verifyProof({ ...proof, siblings: proof.siblings.slice(1) }, tree.root)).toBe(false);
    expect(verifyProof(proof, merkleRoot(hashes(37, 'other')))).toBe(false);
    // The proof's own root field is not trusted: a forged one does not help.
    expect(verifyProof({ ...proof, root: flip(proof.root) }, tree.root)).toBe(true);
    expect(independentVerify(proof.leaf, proof.siblings.slice(1), tree.root)).toBe(false);
  });

  it('an inner node cannot be passed off as a leaf (domain separation)', () => {
    const hs = hashes(4).sort();
    const tree = buildMerkleTree(hs);
    const proof = tree.proof(at(hs, 0)) as MerkleProof;
    // Inner node over leaves 0 and 1, presented as a "leaf" with the level-1 sibling.
    const n01 = createHash('sha256')
      .update(
        Buffer.concat([
          Buffer.from([1]),
          ...[at(hs, 0), at(hs, 1)].map((h) =>
            createHash('sha256')
              .update(Buffer.concat([Buffer.from([0]), Buffer.from(h, 'hex')]))
              .digest(),
          ),
        ]),
      )
      .digest('hex');
    expect(verifyProof({ leaf: n01, index: 0, siblings: proof.siblings.slice(1), root: tree.root }, tree.root)).toBe(
      false,
    );
  });

  it('handles the empty set and non-members; rejects malformed hashes', () => {
    expect(merkleRoot([])).toBe(EMPTY_ROOT);
    expect(EMPTY_ROOT).toBe(sha(''));
    const tree = buildMerkleTree(hashes(5));
    expect(tree.proof(sha('absent'))).toBeNull();
    expect(tree.proof('nothex')).toBeNull();
    expect(() => merkleRoot(['abc'])).toThrow(/not a SHA-256 hex hash/);
    expect(verifyProof({ leaf: 'zz', index: 0, siblings: [], root: tree.root }, tree.root)).toBe(false);
  });

  it('single leaf: root is the leaf node, proof has no siblings', () => {
    const h = at(hashes(1), 0);
    const tree = buildMerkleTree([h]);
    expect(tree.root).toBe(
      createHash('sha256')
        .update(Buffer.concat([Buffer.from([0]), Buffer.from(h, 'hex')]))
        .digest('hex'),
    );
    expect((tree.proof(h) as MerkleProof).siblings).toEqual([]);
  });

  it('gives the same root streamed in ascending order as built at once, for every size up to 70', () => {
    for (let n = 0; n <= 70; n++) {
      const leaves = hashes(n, `stream-${n}`);
      // A duplicate counts once either way.
      if (n > 2) leaves.push(leaves[1]!);
      const b = new MerkleRootBuilder();
      for (const h of [...leaves].sort()) b.add(h.toUpperCase());
      expect(b.root()).toBe(merkleRoot(leaves));
      expect(b.size).toBe(n);
    }
    const b = new MerkleRootBuilder();
    b.add('b'.repeat(64));
    expect(() => b.add('a'.repeat(64))).toThrow(/ascending/);
  });

  it('builds the same tree from leaves packed in ascending order, and refuses them out of order', () => {
    const leaves = hashes(9, 'packed').sort();
    const packed = Buffer.from(leaves.join(''), 'hex');
    const tree = merkleTreeOfPacked(packed);
    expect(tree.root).toBe(merkleRoot(leaves));
    expect(verifyProof(tree.proof(leaves[4]!)!, merkleRoot(leaves))).toBe(true);
    const swapped = Buffer.from([leaves[1], leaves[0], ...leaves.slice(2)].join(''), 'hex');
    expect(() => merkleTreeOfPacked(swapped)).toThrow(/ascending/);
    const repeated = Buffer.from([leaves[0], ...leaves].join(''), 'hex');
    expect(() => merkleTreeOfPacked(repeated)).toThrow(/ascending/);
  });
});
