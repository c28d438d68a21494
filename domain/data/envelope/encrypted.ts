/**
 * Which Datanets are encrypted: those whose spec declares visibility `members` or `private`
 * (domain/data/datanet-spec.ts). Their records arrive sealed, their payloads are stored as
 * ciphertext, and only the workers open them.
 */
export const ENCRYPTED_VISIBILITIES: readonly string[] = ['members', 'private'];

export function isEncryptedSpec(spec: unknown): boolean {
  const v = spec && typeof spec === 'object' ? (spec as { visibility?: unknown }).visibility : undefined;
  return typeof v === 'string' && ENCRYPTED_VISIBILITIES.includes(v);
}
