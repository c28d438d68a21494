// Child process of bench:attribution: one training job with the embedded trainer (streamed
// manifest, then the attribution index), on a directory store. Prints one JSON line of figures;
// its peak RSS is this process's own (the worker's) and nothing else's.
import { DirStore } from './support/dir-store.js';
import { EmbeddedTrainer } from '../ml/embedded/embedded-trainer.js';
import { SYNTHETIC_LABELS } from '../ml/embedded/synthetic.js';
import type { TrainingProgress } from '../ml/trainer.js';

const [root, manifestKey, outputPrefix] = process.argv.slice(2);
if (!root || !manifestKey || !outputPrefix)
  throw new Error('usage: attribution-train.ts ROOT MANIFEST_KEY OUTPUT_PREFIX');
const store = new DirStore(root);
const t0 = performance.now();
let trainedAt = 0;
let projectedAt = 0;
let lastBeat = 0;
const result = await new EmbeddedTrainer().train(
  {
    jobId: 'bench',
    modelName: 'bench',
    task: 'classification',
    labels: SYNTHETIC_LABELS,
    datasetManifestKey: manifestKey,
    evalFraction: 0.05,
    hyperparams: {
      epochs: Number(process.env.BENCH_EPOCHS ?? 2),
      learningRate: 0.5,
      l2: 1e-6,
      batchSize: 64,
      seed: 7,
      checkpointEvery: 0,
    },
    outputPrefix,
  },
  {
    store,
    signal: new AbortController().signal,
    progress(p: TrainingProgress) {
      if (p.phase === 'eval') trainedAt = performance.now();
      // The index phase reports projection as its first half and the graph as its second.
      if (p.phase === 'index' && !projectedAt && p.step > p.totalSteps / 2) projectedAt = performance.now();
      // The progress a worker would heartbeat, on stderr every 10 s.
      if (performance.now() - lastBeat > 10_000) {
        lastBeat = performance.now();
        process.stderr.write(
          `  ${p.phase} ${p.step}/${p.totalSteps} rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB\n`,
        );
      }
    },
  },
);
const end = performance.now();
process.stdout.write(
  JSON.stringify({
    artifactKey: result.artifactKey,
    metrics: result.metrics,
    trainSeconds: (trainedAt - t0) / 1000,
    indexSeconds: (end - trainedAt) / 1000,
    projectSeconds: ((projectedAt || end) - trainedAt) / 1000,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
  }) + '\n',
);
