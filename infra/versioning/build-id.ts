import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Everything the workflow bundle is built from: workflow code and the pure code it imports. */
const WORKFLOW_SOURCES = ['workflows', 'domain', 'contracts'];

/**
 * The release's build id: the configured one (`COMMONS_BUILD_ID`, the image tag in Kubernetes), or
 * else the package version and a hash of the workflow sources, so two processes running the same
 * workflow code agree without configuration and any change to it is a new version.
 */
export function resolveBuildId(configured?: string): string {
  if (configured) return configured;
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  return `${pkg.version}-${workflowSourceHash()}`;
}

/** SHA-256 over the sorted paths and contents of the workflow sources (tests excluded), 12 hex digits. */
export function workflowSourceHash(): string {
  const h = createHash('sha256');
  const files = WORKFLOW_SOURCES.flatMap((dir) =>
    readdirSync(join(repoRoot, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => join(repoRoot, dir, f)),
  ).sort();
  for (const f of files) h.update(relative(repoRoot, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 12);
}
