import { createHash } from 'node:crypto';

/**
 * Checks a Merkle inclusion proof the way a contributor would, from the documented scheme alone
 * (leaf = H(0x00 ‖ record hash), node = H(0x01 ‖ left ‖ right)), not with the project's verifier.
 */
export function verifyInclusion(
  leafHex: string,
  siblings: { hash: string; position: 'left' | 'right' }[],
  root: string,
): boolean {
  const h = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
  let node = h(Buffer.from([0]), Buffer.from(leafHex, 'hex'));
  for (const s of siblings)
    node =
      s.position === 'left'
        ? h(Buffer.from([1]), Buffer.from(s.hash, 'hex'), node)
        : h(Buffer.from([1]), node, Buffer.from(s.hash, 'hex'));
  return node.toString('hex') === root;
}
