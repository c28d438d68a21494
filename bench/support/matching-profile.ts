/**
 * The Temporal server's matching figures for one task queue, from its Prometheus endpoint: how
 * tasks met pollers (at once or from the backlog, forwarded between partitions or not) and how long
 * they waited. Scraped twice, the difference is one phase of a bench.
 */
export type MatchingScrape = Map<string, number>;

/** Counters and timer sums/counts of matching, by metric, task type and queue (normal or sticky). */
const METRIC =
  /^(poll_success|poll_success_sync|poll_timeouts|forwarded_per_tl|local_to_local_matches|local_to_remote_matches|remote_to_local_matches|remote_to_remote_matches|task_dispatch_latency_(?:sum|count)|syncmatch_latency_(?:sum|count)|task_schedule_to_start_latency_(?:sum|count))\{([^}]*)\} ([\d.e+-]+)$/;

export async function scrapeMatching(url: string | undefined, queue: string): Promise<MatchingScrape> {
  const out: MatchingScrape = new Map();
  if (!url) return out;
  const text = await fetch(url)
    .then((r) => r.text())
    .catch(() => '');
  for (const line of text.split('\n')) {
    const m = METRIC.exec(line);
    if (!m) continue;
    const labels = m[2]!;
    const tq = /taskqueue="([^"]*)"/.exec(labels)?.[1] ?? '';
    const type = /task_type="([^"]*)"/.exec(labels)?.[1] ?? '';
    // The queue's family name labels its partitions and its workers' sticky queues alike; `partition` tells them apart.
    const partition = /partition="([^"]*)"/.exec(labels)?.[1] ?? '';
    if (tq !== queue || !type) continue;
    const kind = partition === '__sticky__' ? 'sticky' : partition ? 'normal' : 'queue';
    const key = `${m[1]}|${type} ${kind}`;
    out.set(key, (out.get(key) ?? 0) + Number(m[3]));
  }
  return out;
}

/** One line per task type and queue kind: matches by kind, forwards, mean dispatch and schedule-to-start. */
export function describeMatching(now: MatchingScrape, since: MatchingScrape = new Map()): string[] {
  const d = (metric: string, k: string) => (now.get(`${metric}|${k}`) ?? 0) - (since.get(`${metric}|${k}`) ?? 0);
  const kinds = [...new Set([...now.keys()].map((k) => k.split('|')[1]!))].sort();
  const mean = (metric: string, k: string) => {
    const n = d(`${metric}_count`, k);
    // Timers are exported in seconds.
    return n > 0 ? `${((d(`${metric}_sum`, k) / n) * 1000).toFixed(1)} ms (n=${n})` : '-';
  };
  return kinds
    .map(
      (k) =>
        `${k}: polls answered ${d('poll_success', k)} (sync ${d('poll_success_sync', k)}), poll timeouts ${d('poll_timeouts', k)}, forwarded ${d('forwarded_per_tl', k)}; matches local→local ${d('local_to_local_matches', k)}, local→remote ${d('local_to_remote_matches', k)}, remote→local ${d('remote_to_local_matches', k)}; dispatch ${mean('task_dispatch_latency', k)}, sync match ${mean('syncmatch_latency', k)}, schedule-to-start ${mean('task_schedule_to_start_latency', k)}`,
    )
    .filter((line) => !/polls answered 0 \(sync 0\), poll timeouts 0, forwarded 0; matches local→local 0/.test(line));
}
