// The `commons` command as an app gets it: the @commons/cli package's bin, built from this checkout
// (no tsx at run time), once per test file. It is built inside the checkout so that the packages
// its bundle leaves as imports (a command's own dependencies) resolve to the repo's node_modules.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { buildPackage, CLI_BIN, DEFAULT_OUT } from '../../packages/build.js';

let bin: Promise<string> | undefined;
let built: string | undefined;
// Registered when a test file imports this module: that file's build goes when the file is done
// (a forked test worker is stopped without an exit event).
afterAll(() => {
  if (built) rmSync(built, { recursive: true, force: true });
});

/** The path of the built `commons` (run it with `process.execPath`, or directly: it is executable). */
export function commonsBin(): Promise<string> {
  bin ??= (async () => {
    mkdirSync(DEFAULT_OUT, { recursive: true });
    built = mkdtempSync(join(DEFAULT_OUT, 'test-'));
    return join(await buildPackage('cli', built), CLI_BIN);
  })();
  return bin;
}
