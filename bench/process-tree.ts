import { readdirSync, readFileSync } from 'node:fs';

/**
 * Peak memory of every process under this one (the local stack's servers, the API, the workers),
 * sampled from /proc: per process kind, the largest single peak RSS (VmHWM) and the peak of the
 * kind's summed RSS (Postgres is one process per connection).
 */
export class ProcessTreeRss {
  private readonly peaks = new Map<string, { single: number; sum: number }>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly label: (pid: number, cmdline: string[]) => string | undefined = defaultLabel) {}

  start(everyMs = 1000): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }

  sample(): void {
    const sums = new Map<string, number>();
    for (const pid of descendants(process.pid)) {
      const status = read(`/proc/${pid}/status`);
      const cmd = read(`/proc/${pid}/cmdline`)?.split('\0').filter(Boolean);
      if (!status || !cmd) continue; // exited meanwhile
      const name = this.label(pid, cmd);
      if (!name) continue;
      const hwm = kb(status, 'VmHWM');
      const rss = kb(status, 'VmRSS');
      const p = this.peaks.get(name) ?? { single: 0, sum: 0 };
      p.single = Math.max(p.single, hwm);
      this.peaks.set(name, p);
      sums.set(name, (sums.get(name) ?? 0) + rss);
    }
    for (const [name, sum] of sums) {
      const p = this.peaks.get(name)!;
      p.sum = Math.max(p.sum, sum);
    }
    const self = kb(read('/proc/self/status') ?? '', 'VmHWM');
    const me = this.peaks.get('bench (this process)') ?? { single: 0, sum: 0 };
    this.peaks.set('bench (this process)', { single: Math.max(me.single, self), sum: Math.max(me.sum, self) });
  }

  /** MiB per kind, largest first. */
  report(): { name: string; peakMiB: number; peakSumMiB: number }[] {
    return [...this.peaks.entries()]
      .map(([name, p]) => ({ name, peakMiB: p.single / 1024, peakSumMiB: p.sum / 1024 }))
      .sort((a, b) => b.peakMiB - a.peakMiB);
  }
}

/**
 * CPU seconds used so far by every process under this one, by kind (the labels above), with this
 * process as 'bench (this process)': diff two readings to see where a phase's CPU went.
 */
export function treeCpuSeconds(label = defaultLabel): Map<string, number> {
  const out = new Map<string, number>();
  const ticks = (pid: number | 'self') => {
    const stat = read(`/proc/${pid}/stat`);
    if (!stat) return 0;
    // utime and stime: fields 14 and 15, i.e. 12 and 13 after the command name's closing parenthesis.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  for (const pid of descendants(process.pid)) {
    const cmd = read(`/proc/${pid}/cmdline`)?.split('\0').filter(Boolean);
    const name = cmd && label(pid, cmd);
    if (name) out.set(name, (out.get(name) ?? 0) + ticks(pid) / CLOCK_TICKS);
  }
  out.set('bench (this process)', ticks('self') / CLOCK_TICKS);
  return out;
}
/** USER_HZ: 100 on Linux. */
const CLOCK_TICKS = 100;

export function defaultLabel(_pid: number, cmd: string[]): string | undefined {
  const exe = (cmd[0] ?? '').split('/').pop() ?? '';
  const script = cmd.find((a) => /\.(ts|js)$/.test(a) && !a.includes('node_modules'));
  if (script) return `${exe} ${script}`;
  if (exe.startsWith('postgres')) return 'postgres';
  return exe || undefined;
}

export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const stat = read(`/proc/${d}/stat`);
    if (!stat) continue;
    // Fields after the command name (which may hold spaces and parentheses): state, ppid, ...
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(d));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length)
    for (const c of children.get(todo.pop()!) ?? []) {
      out.push(c);
      todo.push(c);
    }
  return out;
}

export function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

const kb = (status: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
