import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One figure of a run: a label and its value already formatted (a number where one is measured). */
export type Figures = [label: string, value: string][];

/**
 * Runs this bench script once per Temporal server (COMMONS_TEMPORAL), one after another, each on a
 * stack of its own, and prints their figures side by side. A child knows it is one by
 * BENCH_RESULT_FILE, where it writes its figures as JSON.
 */
export async function sideBySide(script: string, servers: string[], log: (m: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'commons-bench-'));
  const results: Figures[] = [];
  try {
    for (const server of servers) {
      const file = join(dir, `${server}.json`);
      log(`run on COMMONS_TEMPORAL=${server}`);
      const code = await new Promise<number | null>((resolve) => {
        const child = spawn(process.execPath, [...process.execArgv, script], {
          env: { ...process.env, COMMONS_TEMPORAL: server, BENCH_RESULT_FILE: file },
          stdio: 'inherit',
        });
        child.once('exit', resolve);
      });
      if (code !== 0) throw new Error(`the run on COMMONS_TEMPORAL=${server} exited with ${code}`);
      results.push(JSON.parse(readFileSync(file, 'utf8')) as Figures);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const labels = [...new Set(results.flatMap((r) => r.map(([label]) => label)))];
  const rows = labels.map((label) => [label, ...results.map((r) => r.find(([l]) => l === label)?.[1] ?? '')]);
  const header = [
    '',
    ...servers.map((s) => (s === 'dev' ? 'dev server (SQLite)' : s === 'server' ? 'real server (Postgres)' : s)),
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  console.log(['', line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
}
