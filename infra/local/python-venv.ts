import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, withLock } from './cache-lock.js';
import { cacheDir } from './paths.js';

/**
 * A Python virtual environment in the cache, outside the repo, built once per requirements file:
 * its directory name carries a hash of the file, so changing a pin builds a new one and every clone
 * on the machine (and CI) reuses the same. Returns the venv's `python`.
 */
export async function ensureVenv(
  name: string,
  requirementsPath: string,
  log: (m: string) => void = console.log,
): Promise<string> {
  const requirements = readFileSync(requirementsPath);
  const digest = createHash('sha256').update(requirements).digest('hex').slice(0, 12);
  const dir = join(cacheDir(), `venv-${name}-${digest}`);
  const python = join(dir, 'bin', 'python');
  const stamp = join(dir, '.commons-complete');
  if (existsSync(stamp)) return python;
  return withLock(`${dir}.lock`, async () => {
    if (existsSync(stamp)) return python;
    rmSync(dir, { recursive: true, force: true }); // a half-built venv from a killed install
    const started = Date.now();
    log(`creating the Python environment ${dir} from ${requirementsPath} (first run only)…`);
    await run(process.env.PYTHON ?? 'python3', ['-m', 'venv', dir]);
    await run(python, ['-m', 'pip', 'install', '--quiet', '--upgrade', 'pip']);
    await run(python, ['-m', 'pip', 'install', '--quiet', '-r', requirementsPath]);
    writeFileSync(stamp, `${new Date().toISOString()}\n`);
    log(`Python environment ready in ${Math.round((Date.now() - started) / 1000)}s`);
    return python;
  });
}
