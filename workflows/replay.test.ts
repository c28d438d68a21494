import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { readHistoryFile } from '../test/support/histories.js';
import { workflowsPath } from '../workers/runtime.js';

/**
 * Replays every committed history (test/histories/*.json, recorded by `npm run histories:record`)
 * against the current workflow code. A failure here means a change would break lifecycles already
 * running: guard it with patched() (see README, "Changing workflow code") or re-record on purpose.
 * Needs no stack.
 */
const dir = fileURLToPath(new URL('../test/histories/', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('committed workflow histories replay on the current code', () => {
  it('covers every recorded scenario', () => {
    const names = new Set(files.map((f) => f.replace(/(\.run-\d+)?\.json$/, '')));
    expect([...names].sort()).toEqual([
      'collection-continued-as-new',
      'lifecycle-cancelled',
      'lifecycle-failed-gate',
      'lifecycle-rejected',
      'lifecycle-serving',
      'lifecycle-vetoed',
      'lifecycle-withdrawn',
      'rlhf-round',
      'rlhf-round-paused',
      'rlhf-round-staked',
    ]);
    // The collection chain really continued as new.
    expect(files.filter((f) => f.startsWith('collection-continued-as-new.run-')).length).toBeGreaterThan(1);
  });

  it('replays without non-determinism', async () => {
    const histories = files.map((f) => ({
      workflowId: f.replace(/\.json$/, ''),
      history: readHistoryFile(dir + f),
    }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories({ workflowsPath, replayName: 'committed-histories' }, histories)) {
      replayed++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.name}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  }, 120_000);
});
