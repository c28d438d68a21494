import { renderStatusLine, type StatusView } from './progress-bar.js';

export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Polls a lifecycle until its status is no longer 'running'. On a terminal the status line is
 * redrawn in place (a finished stage keeps its own line); otherwise a plain line is printed each
 * time it changes, which is what logs and pipes want.
 */
export async function watchStatus(
  fetchStatus: () => Promise<StatusView>,
  out: Output,
  opts: { intervalMs?: number; sleep?: (ms: number) => Promise<void> } = {},
): Promise<StatusView> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const tty = !!out.isTTY;
  let lastLine = '';
  let lastStage: string | undefined;
  for (;;) {
    const s = await fetchStatus();
    const line = renderStatusLine(s, { width: tty ? (out.columns ?? 100) : undefined, ascii: !tty });
    if (tty) {
      // A new stage: leave the previous stage's last line on screen, draw the new one below it.
      if (lastStage !== undefined && s.stage !== lastStage) out.write('\n');
      if (line !== lastLine || s.stage !== lastStage) out.write(`\r\x1b[2K${line}`);
    } else if (line !== lastLine) {
      out.write(`${line}\n`);
    }
    lastLine = line;
    lastStage = s.stage;
    if (s.status !== 'running') {
      if (tty) out.write('\n');
      return s;
    }
    await sleep(opts.intervalMs ?? 1000);
  }
}
