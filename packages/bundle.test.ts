import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageOf } from './bundle.js';
import { buildPackage, CLI_BIN } from './build.js';

describe('package bundles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'commons-bundle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('counts an import as the npm package it comes from, and Node built-ins as none', () => {
    expect(packageOf('@modelcontextprotocol/sdk/server/stdio.js')).toBe('@modelcontextprotocol/sdk');
    expect(packageOf('zod/v4')).toBe('zod');
    expect(packageOf('node:fs')).toBeNull();
    expect(packageOf('fs/promises')).toBeNull();
  });

  it('builds the CLI as one executable file whose package.json carries the project version', async () => {
    const pkg = await buildPackage('cli', dir);
    const bin = join(pkg, CLI_BIN);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(bin).mode & 0o111).toBe(0o111);
    const manifest = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')) as Record<string, unknown>;
    const root = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(manifest).toMatchObject({ name: '@commons/cli', version: root.version, bin: { commons: `./${CLI_BIN}` } });
  });
});
