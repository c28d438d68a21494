// One ESM file per package entry: our own modules bundled in, npm packages left as imports so the
// package declares them as dependencies instead of carrying a copy.
import { builtinModules } from 'node:module';
import { build, type Metafile } from 'esbuild';

/** The oldest Node the packages promise to run on (their `engines`). */
export const NODE_TARGET = 'node20';

/**
 * Bundles `entry` into `<outdir>/<name>.js` and returns the npm packages the bundle still imports
 * (the package's run-time dependencies); Node built-ins are not counted. A dynamic import becomes a
 * chunk of its own beside it (chunks/), so what only one command needs is loaded by that command.
 */
export async function bundle(
  entry: string,
  outdir: string,
  name: string,
  opts: { banner?: string } = {},
): Promise<string[]> {
  const result = await build({
    entryPoints: { [name]: entry },
    outdir,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
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
