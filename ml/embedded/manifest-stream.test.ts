import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LinearSoftmaxModel, inMemoryBatches, trainEpochs, type Example } from './linear-softmax.js';
import { ShardedBatches, readManifestFile, readShard, shardManifest } from './manifest-stream.js';
import { parseManifest } from './embedded-trainer.js';
import { jsonLines } from '../../storage/jsonl.js';
import { splitlines } from '../../test/support/hostile-records.js';
import { SYNTHETIC_LABELS, syntheticDataset } from './synthetic.js';
import { serializeModel } from './serialize.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function sharded(n: number, shardSize: number) {
  const dir = await mkdtemp(join(tmpdir(), 'commons-shards-'));
  dirs.push(dir);
  const records = syntheticDataset(n, 11, 7);
  const path = join(dir, 'manifest.jsonl');
  await writeFile(path, records.map((r) => JSON.stringify(r)).join('\n') + '\n');
  // Every fifth record is held out, by hash.
  const isEval = (hash: string) => Number(hash.split('-')[1]) % 5 === 0;
  return { records, isEval, manifest: await shardManifest(path, join(dir, 'shards'), isEval, shardSize) };
}

const key = (e: Example) => `${e.y}:${[...e.x.indices].join(',')}`;

describe('manifest streaming', () => {
  it('splits a manifest into bounded train and held-out shards, in manifest order', async () => {
    const { records, isEval, manifest } = await sharded(1000, 150);
    const train = records.filter((r) => !isEval(r.hash));
    expect(manifest.trainCount).toBe(train.length);
    expect(manifest.evalCount).toBe(records.length - train.length);
    expect(manifest.train.every((s) => s.count <= 150)).toBe(true);
    const back = (await Promise.all(manifest.train.map((s) => readShard(s)))).flat();
    expect(back.map((r) => r.hash)).toEqual(train.map((r) => r.hash));
    expect(manifest.labels).toEqual(new Set(SYNTHETIC_LABELS));
  });

  it('with one shard, visits records in exactly the in-memory order', async () => {
    const { manifest } = await sharded(300, 10_000);
    expect(manifest.train).toHaveLength(1);
    const model = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 12);
    const records = await readShard(manifest.train[0]!);
    const examples = records.map((r) => ({ x: model.featurize(r.text), y: model.labelIndex(r.label) }));
    const mem = inMemoryBatches(examples, 5);
    const disk = new ShardedBatches(manifest.train, model, 5);
    for (const epoch of [0, 3]) {
      const a = (await mem.batch(epoch, 0, 240)).map(key);
      const b = (await disk.batch(epoch, 0, 240)).map(key);
      expect(b).toEqual(a);
    }
  });

  it('with many shards, each epoch visits every record once, in an order that differs by epoch', async () => {
    const { manifest } = await sharded(1000, 64);
    const model = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 12);
    const source = new ShardedBatches(manifest.train, model, 9);
    const epochKeys: string[][] = [];
    for (const epoch of [0, 1]) {
      const keys: string[] = [];
      // Batches of 37 cross shard boundaries.
      for (let from = 0; from < source.size; from += 37)
        keys.push(...(await source.batch(epoch, from, Math.min(source.size, from + 37))).map(key));
      expect(keys).toHaveLength(manifest.trainCount);
      epochKeys.push(keys);
    }
    expect(new Set(epochKeys[0]).size).toBe(new Set(epochKeys[1]).size);
    expect([...epochKeys[0]!].sort()).toEqual([...epochKeys[1]!].sort());
    expect(epochKeys[0]).not.toEqual(epochKeys[1]);
  });

  it('a run resumed at any step from that step’s state ends with the identical model', async () => {
    const { manifest } = await sharded(900, 100);
    const opts = { epochs: 3, learningRate: 0.5, l2: 1e-4, batchSize: 16, seed: 3 };
    const straight = LinearSoftmaxModel.create(SYNTHETIC_LABELS, 1 << 12);
    let atStep: Buffer | undefined;
    const resumeAt = 77; // mid-epoch, mid-shard
    await trainEpochs(straight, new ShardedBatches(manifest.train, straight, 3), {
      ...opts,
      onStep: (step) => {
        if (step === resumeAt) atStep = serializeModel(straight, {});
      },
    });
    const { deserializeModel } = await import('./serialize.js');
    const resumed = deserializeModel(atStep!);
    await trainEpochs(resumed, new ShardedBatches(manifest.train, resumed, 3), { ...opts, startStep: resumeAt });
    expect(Buffer.compare(serializeModel(resumed, {}), serializeModel(straight, {}))).toBe(0);
  });
});

describe('manifest streaming: record texts holding line breaks', () => {
  // Each record holds a character some splitter takes for a line end (readline: U+2028, U+2029).
  const breaks = ['\u2028', '\u2029', '\u0085', '\r', '\r\n', '\u000b', '\u001e', '\ufeff', '\u202e'];
  const records = syntheticDataset(90, 3, 7).map((r, i) => ({
    ...r,
    text: `${r.text}${breaks[i % breaks.length]}${'{"hash":"x"}'}`,
  }));

  it.each([
    ['manifests in the format (storage/jsonl.ts)', jsonLines(records)],
    ['manifests written before it (raw U+2028 and U+2029)', records.map((r) => JSON.stringify(r) + '\n').join('')],
  ])('reads every record of %s whole, streamed, sharded and in memory', async (_, body) => {
    const dir = await mkdtemp(join(tmpdir(), 'commons-breaks-'));
    dirs.push(dir);
    const path = join(dir, 'manifest.jsonl');
    await writeFile(path, body);
    const streamed: unknown[] = [];
    for await (const r of readManifestFile(path)) streamed.push(r);
    expect(streamed).toEqual(records);
    expect(parseManifest(Buffer.from(body))).toEqual(records);
    const manifest = await shardManifest(path, join(dir, 'shards'), () => false, 16);
    expect((await Promise.all(manifest.train.map((s) => readShard(s)))).flat()).toEqual(records);
    // The shards are in the format: Python's splitlines finds one line per record.
    for (const s of manifest.train) expect(splitlines(await readFile(s.path, 'utf8'))).toHaveLength(s.count);
  });
});
