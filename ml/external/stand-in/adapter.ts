/**
 * The stand-in's "LoRA adapter": a directory in the reference trainer's layout (adapter/ and
 * labels.json) with the training pairs the n-gram model is built from, in adapter/records.jsonl.
 * The stand-in trainer writes it (as model.tar, like the reference trainer), the upstream
 * predictor unpacks it, the stand-in upstream loads it by path.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TrainingPair } from './ngram-model.js';

const exec = promisify(execFile);

export const ADAPTER_CONFIG = { stand_in: 'ngram', order: 3 };

function parsePairs(jsonl: string): TrainingPair[] {
  // Split on "\n" only: a record's text may hold U+2028 (storage/jsonl.ts).
  return jsonl
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as TrainingPair);
}

/** The pairs of an unpacked adapter (`path` holds adapter/, or is the adapter directory itself). */
export async function readAdapter(path: string): Promise<TrainingPair[]> {
  const text = await readFile(join(path, 'adapter', 'records.jsonl'), 'utf8').catch(() =>
    readFile(join(path, 'records.jsonl'), 'utf8'),
  );
  return parsePairs(text);
}

/** The pairs inside a model.tar artifact. */
export async function readArtifact(tarPath: string): Promise<TrainingPair[]> {
  const { stdout } = await exec('tar', ['-xOf', tarPath, 'adapter/records.jsonl'], { maxBuffer: 1 << 30 });
  return parsePairs(stdout);
}

/** Writes model.tar (adapter/ and labels.json) into `outputDir`; returns its file name. */
export async function writeArtifact(outputDir: string, pairs: readonly TrainingPair[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stand-in-adapter-'));
  try {
    await mkdir(join(dir, 'adapter'));
    await writeFile(join(dir, 'adapter', 'adapter_config.json'), JSON.stringify(ADAPTER_CONFIG));
    await writeFile(join(dir, 'adapter', 'records.jsonl'), pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
    await writeFile(join(dir, 'labels.json'), '[]');
    await mkdir(outputDir, { recursive: true });
    await exec('tar', ['-cf', join(outputDir, 'model.tar'), '-C', dir, 'adapter', 'labels.json']);
    return 'model.tar';
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
