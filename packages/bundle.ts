// One ESM file per package entry: our own modules bundled in, npm packages left as imports so the
// package declares them as dependencies instead of carrying a copy.
import { builtinModules } from 'node:module';
import { build, type Metafile } from 'esbuild';

/** The oldest Node the packages promise to run on (their `engines`). */
export const NODE_TARGET = 'node20';

/**
 * Bundles `entry` into `outfile` and returns the npm packages the bundle still imports (the
 * package's run-time dependencies). Node built-ins are not counted.
 */
export async function bundle(entry: string, outfile: string, opts: { banner?: string } = {}): Promise<string[]> {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: NODE_TARGET,
    packages: 'external',
    metafile: true,
    logLevel: 'error',
    legalComments: 'none',
    ...(opts.banner ? { banner: { js: opts.banner } } : {}),
  });
  return externalPackages(result.metafile);
}

const builtins = new Set(builtinModules);

/** `@scope/name/sub/path` → `@scope/name`, `name/sub` → `name`; null for Node built-ins. */
export function packageOf(specifier: string): string | null {
  if (specifier.startsWith('node:') || builtins.has(specifier.split('/')[0] ?? '')) return null;
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

function externalPackages(meta: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(meta.outputs))
    for (const i of output.imports) {
      const name = i.external ? packageOf(i.path) : null;
      if (name) names.add(name);
    }
  return [...names].sort();
}
