import type { ArtifactStore } from '../storage/artifact-store.js';

/**
 * Reads every object in the bucket, as someone holding the storage credentials could, and names
 * those whose bytes hold any of `needles`: what the private demo shows S3 never holds.
 */
export async function scanBucket(
  store: ArtifactStore,
  needles: readonly string[],
): Promise<{ objects: number; bytes: number; found: string[] }> {
  const objects = await store.list('');
  let bytes = 0;
  const found: string[] = [];
  for (const o of objects) {
    const body = await store.get(o.key);
    bytes += body.length;
    if (needles.some((n) => body.includes(n))) found.push(o.key);
  }
  return { objects: objects.length, bytes, found };
}
