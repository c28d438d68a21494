// `npm run bench:attribution`: attribution and training at scale, with no stack (a directory
// store), so the figures are the code's own. For each size in BENCH_ATTRIBUTION_RECORDS (default
// 100000; "100000,1000000" for both): a synthetic manifest is written, a child process (the
// worker) trains on it with the streamed trainer and builds the attribution index, and this
// process loads the index as an API replica would (checksummed, memory-mapped) and measures
// attributed calls per second on one core (predict + attribute, top 5), and how many of the
// top 5 the served call finds against the same score over every record: with the feature store
// that score is exact TracIn, so this is recall@5 against exact TracIn.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirStore } from './support/dir-store.js';
import { syntheticDataset } from '../ml/embedded/synthetic.js';
import { AttributionIndex } from '../ml/embedded/attribution-index.js';
import { loadModel } from '../ml/embedded/embedded-trainer.js';
import { attributionIndexPrefix } from '../storage/keys.js';

const sizes = (process.env.BENCH_ATTRIBUTION_RECORDS ?? '100000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const log = (m: string) => console.log(`[bench:attribution] ${m}`);

/** n synthetic records with SHA-256 hex hashes (as real manifests have), 1,000 contributors. */
async function writeManifest(path: string, n: number): Promise<void> {
  const out = createWriteStream(path);
  const chunk = 50_000;
  for (let from = 0, c = 0; from < n; from += chunk, c++) {
    const part = syntheticDataset(Math.min(chunk, n - from), 1000 + c, 1000);
    let text = '';
    for (const r of part)
      text +=
        JSON.stringify({
          hash: createHash('sha256').update(r.hash).digest('hex'),
          contributor: r.contributor,
          text: r.text,
          label: r.label,
        }) + '\n';
    if (!out.write(text)) await new Promise<void>((res) => out.once('drain', () => res()));
  }
  await new Promise<void>((res, rej) => out.end((err?: Error | null) => (err ? rej(err) : res())));
}

interface Trained {
  artifactKey: string;
  trainSeconds: number;
  indexSeconds: number;
  projectSeconds: number;
  peakRssMiB: number;
  metrics: { macroF1: number };
}

function train(root: string, manifestKey: string, outputPrefix: string) {
  return new Promise<Trained>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bench/attribution-train.ts', root, manifestKey, outputPrefix],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Trained)
        : reject(new Error(`trainer exited ${code}`)),
    );
  });
}

log(
  `load average at start: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')} (2 cores)`,
);
for (const n of sizes) {
  const root = await mkdtemp(join(tmpdir(), 'commons-bench-attr-'));
  try {
    const store = new DirStore(root);
    const manifestKey = 'datanets/bench/datasets/v1/manifest.jsonl';
    await store.put(manifestKey, '');
    let t = performance.now();
    await writeManifest(join(root, manifestKey), n);
    log(`${n} records: manifest written in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    const trained = await train(root, manifestKey, 'staging/bench/job');
    const header = JSON.parse(
      (await store.get(`${attributionIndexPrefix(trained.artifactKey)}header.json`)).toString('utf8'),
    ) as { size: number; bytes: { ann: number; records: number; sketch?: number; features?: number } };

    const rssBefore = process.memoryUsage().rss;
    t = performance.now();
    const model = await loadModel(store, trained.artifactKey);
    const index = await AttributionIndex.fromStore(
      store,
      attributionIndexPrefix(trained.artifactKey),
      join(root, 'cache'),
    );
    const loadSeconds = (performance.now() - t) / 1000;
    const loadRssMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;

    const queries = syntheticDataset(1000, 99, 1).map((r) => r.text);
    for (let i = 0; i < 200; i++) index.attribute(model, queries[i % queries.length]!, 5); // warm-up
    let calls = 0;
    const lat: number[] = [];
    const until = performance.now() + SECONDS * 1000;
    t = performance.now();
    while (performance.now() < until) {
      const s = performance.now();
      // As the endpoint does (ml/serving/embedded-classifier.ts): featurised once, for the label
      // and the attribution.
      const x = model.featurize(queries[calls % queries.length]!);
      model.predictFeatures(x);
      index.attribute(model, x, 5);
      lat.push(performance.now() - s);
      calls++;
    }
    const perSecond = calls / ((performance.now() - t) / 1000);
    // Where a call's time goes: each phase alone over the same queries (µs per call).
    const phase = (f: (i: number) => void) => {
      const n = Math.min(calls, 20_000);
      const s = performance.now();
      for (let i = 0; i < n; i++) f(i);
      return ((performance.now() - s) * 1000) / n;
    };
    const feats = queries.map((q) => model.featurize(q));
    const featurizeUs = phase((i) => model.featurize(queries[i % queries.length]!));
    const predictUs = phase((i) => model.predictFeatures(feats[i % feats.length]!));
    const attributeUs = phase((i) => index.attribute(model, feats[i % feats.length]!, 5));
    // Recall: the served top 5 against the same score over every record (O(n) each).
    let found = 0;
    let asked = 0;
    let captured = 0;
    let graphQueries = 0;
    const GRAPH_QUERIES = Number(process.env.BENCH_GRAPH_QUERIES ?? 50);
    if (index.scoring !== 'graph')
      for (const text of queries.slice(0, GRAPH_QUERIES)) {
        // Found: scores at least the exhaustive fifth best (synthetic records often tie).
        const full = index.attributeExhaustive(model, text, 5).records;
        if (full.length === 0) continue;
        const fifth = full.at(-1)!.influence;
        const served = index.attribute(model, text, 5).records;
        asked += full.length;
        found += served.filter((r) => r.influence >= fifth * (1 - 1e-9)).length;
        const sum = (rs: { influence: number }[]) => rs.reduce((t, r) => t + r.influence, 0);
        captured += sum(served) / sum(full);
        graphQueries++;
      }
    lat.sort((a, b) => a - b);
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]!.toFixed(2);
    const sketchBytes = header.bytes.sketch ?? 0;
    const featureBytes = header.bytes.features ?? 0;
    const perRecord = (header.bytes.ann + header.bytes.records + sketchBytes + featureBytes) / header.size;
    console.log('');
    console.log(`records                         ${n} (${header.size} indexed, the rest held out)`);
    console.log(
      `training (streamed, ${process.env.BENCH_EPOCHS ?? 2} epochs)   ${trained.trainSeconds.toFixed(1)} s, macro-F1 ${trained.metrics.macroF1.toFixed(3)}`,
    );
    console.log(
      `index build (project + graph)   ${trained.indexSeconds.toFixed(1)} s (projection ${trained.projectSeconds.toFixed(1)} s, graph ${(trained.indexSeconds - trained.projectSeconds).toFixed(1)} s)`,
    );
    console.log(`worker peak RSS                 ${trained.peakRssMiB.toFixed(0)} MiB`);
    console.log(
      `index size                      ${perRecord.toFixed(1)} bytes/record (graph+vectors ${(header.bytes.ann / header.size).toFixed(1)}, hashes+contributors ${(header.bytes.records / header.size).toFixed(1)}, sketch ${(sketchBytes / header.size).toFixed(1)}, feature store ${(featureBytes / header.size).toFixed(1)})`,
    );
    console.log(`replica load (download+verify+mmap) ${loadSeconds.toFixed(1)} s, RSS +${loadRssMiB.toFixed(0)} MiB`);
    console.log(
      `attributed calls in process     ${perSecond.toFixed(0)} /s on one core (p50 ${q(0.5)} ms, p99 ${q(0.99)} ms)`,
    );
    console.log(
      `per call                        featurise ${featurizeUs.toFixed(0)} µs, predict ${predictUs.toFixed(0)} µs, attribute ${attributeUs.toFixed(0)} µs (graph search + exact re-rank)`,
    );
    if (asked)
      console.log(
        `${index.scoring === 'exact' ? 'served vs exact TracIn         ' : 'graph vs exhaustive sketch     '} recall@5 ${(found / asked).toFixed(3)}, influence captured ${((100 * captured) / graphQueries).toFixed(1)}% (${graphQueries} queries, same score over all ${header.size} records)`,
      );
    console.log('');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
log(
  `load average at end: ${loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
