import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { breakdownLines, cpuBreakdown } from './cpu-breakdown.js';

const dir = mkdtempSync(join(tmpdir(), 'cpu-breakdown-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A profile whose stacks are given root first, each sampled for `us` microseconds. */
function profile(stacks: { frames: [string, string][]; us: number }[]): string {
  const nodes: { id: number; callFrame: { functionName: string; url: string }; children: number[] }[] = [
    { id: 1, callFrame: { functionName: '(root)', url: '' }, children: [] },
  ];
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  for (const { frames, us } of stacks) {
    let parent = nodes[0]!;
    for (const [functionName, url] of frames) {
      const child = { id: nodes.length + 1, callFrame: { functionName, url }, children: [] };
      nodes.push(child);
      parent.children.push(child.id);
      parent = child;
    }
    samples.push(parent.id);
    timeDeltas.push(us);
  }
  const path = join(dir, `${samples.length}-${Math.random()}.cpuprofile`);
  writeFileSync(path, JSON.stringify({ nodes, samples, timeDeltas, startTime: 0, endTime: 1 }));
  return path;
}

describe('cpuBreakdown', () => {
  it('charges each sample to the leaf-most part of a paid call its stack shows', () => {
    const api = 'file:///repo/api';
    const b = cpuBreakdown(
      profile([
        {
          frames: [
            ['infer', `${api}/routes/models.ts`],
            ['predict', 'file:///repo/ml/serving/embedded-classifier.ts'],
            ['featurizeTokens', 'file:///repo/ml/embedded/features.ts'],
          ],
          us: 30,
        },
        // A socket write made by the Postgres client is the Postgres client's, not HTTP's.
        {
          frames: [
            ['nextWrite', 'file:///repo/node_modules/postgres/src/connection.js'],
            ['Socket._write', 'node:net'],
            ['writeBuffer', ''],
          ],
          us: 20,
        },
        { frames: [['_storeHeader', 'node:_http_outgoing']], us: 5 },
        { frames: [['(garbage collector)', '']], us: 4 },
        { frames: [['(idle)', '']], us: 1000 },
        // Module loading and the model load are not per call.
        {
          frames: [
            ['import', 'node:internal/modules/esm/loader'],
            ['compile', 'file:///repo/x.ts'],
          ],
          us: 500,
        },
        {
          frames: [
            ['load', `${api}/inference/model-cache.ts`],
            ['featurizeTokens', 'file:///repo/ml/embedded/features.ts'],
          ],
          us: 300,
        },
        // A method named like an Object.prototype member is not a special frame.
        { frames: [['constructor', 'file:///repo/lib.js']], us: 1 },
      ]),
    );
    expect(b.micros.get('tokenising and featurisation')).toBe(30);
    expect(b.micros.get('group commit and Postgres client')).toBe(20);
    expect(b.micros.get('HTTP (node:http, sockets)')).toBe(5);
    expect(b.micros.get('garbage collection')).toBe(4);
    expect(b.micros.get('other')).toBe(1);
    expect(b.total).toBe(60);
    expect(b.excluded).toBe(800);
    expect(b.leaves.get('group commit and Postgres client')?.get('writeBuffer ')).toBe(20);
    const lines = breakdownLines(b, 10);
    expect(lines[0]).toMatch(/tokenising and featurisation\s+3 µs\s+50\.0%/);
    expect(lines.at(-1)).toMatch(/total \(sampled\)\s+6 µs/);
  });
});
