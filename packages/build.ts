// Builds the packages an app installs: @commons/client (the typed client, ESM + declarations) and
// @commons/cli (the `commons` command). Each package directory under packages/ holds the package's
// package.json and README; the build writes them, completed, with the built files beside them.
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from './bundle.js';
import { writeDeclarations } from './declarations.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
/** Where `npm run build:packages` writes; the repo's own `commons` bin runs the CLI from here. */
export const DEFAULT_OUT = join(REPO_ROOT, 'packages/build');

/** The `commons` command inside the CLI package. */
export const CLI_BIN = 'dist/commons.js';

export const PACKAGES = ['client', 'cli'] as const;
export type PackageName = (typeof PACKAGES)[number];

interface Manifest {
  name: string;
  version?: string;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Manifest;

/**
 * The CLI bundles the client rather than depending on @commons/client: the command then installs
 * from its one tarball (its dependencies are only what its own commands import), and an app pinning
 * another client version cannot change what its `commons` does.
 */
async function buildFiles(name: PackageName, dir: string): Promise<string[]> {
  switch (name) {
    case 'client': {
      const imports = await bundle(join(REPO_ROOT, 'client/index.ts'), join(dir, 'dist'), 'index');
      await writeDeclarations(REPO_ROOT, 'client/index.ts', join(dir, 'dist/types'));
      return imports;
    }
    case 'cli': {
      const bin = join(dir, CLI_BIN);
      const imports = await bundle(join(REPO_ROOT, 'cli/main.ts'), join(dir, 'dist'), 'commons', {
        banner: '#!/usr/bin/env node',
      });
      chmodSync(bin, 0o755);
      return imports;
    }
  }
}

/**
 * Builds one package into `<outRoot>/<name>/`: its files, its README, and its package.json with the
 * project's version and, as dependencies, exactly the npm packages the bundle imports (at the
 * ranges the repo's own package.json asks for).
 */
export async function buildPackage(name: PackageName, outRoot = DEFAULT_OUT): Promise<string> {
  const source = join(REPO_ROOT, 'packages', name);
  const dir = join(outRoot, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const imports = await buildFiles(name, dir);
  const root = readJson(join(REPO_ROOT, 'package.json'));
  const manifest = readJson(join(source, 'package.json'));
  const dependencies = Object.fromEntries(
    imports.map((pkg) => {
      const range = root.dependencies?.[pkg];
      if (!range) throw new Error(`${name}: the bundle imports ${pkg}, which is not a dependency in package.json`);
      return [pkg, range];
    }),
  );
  const { name: pkgName, ...rest } = manifest;
  const complete = { name: pkgName, version: root.version, ...rest, ...(imports.length ? { dependencies } : {}) };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(complete, null, 2) + '\n');
  cpSync(join(source, 'README.md'), join(dir, 'README.md'));
  return dir;
}

export async function buildPackages(
  outRoot = DEFAULT_OUT,
  names: readonly PackageName[] = PACKAGES,
): Promise<string[]> {
  const dirs: string[] = [];
  for (const name of names) dirs.push(await buildPackage(name, outRoot));
  return dirs;
}
