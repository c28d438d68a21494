import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { readHistoryFile } from '../test/support/histories.js';
import { workflowsPath } from '../workers/runtime.js';
import { workflowInterceptorModules } from '../infra/telemetry/temporal.js';

/**
 * Replays every committed history of every release (test/histories/<release>/*.json, recorded by
 * `npm run histories:record` on that release's code) against the current workflow code. A failure
 * here means a change would break workflows started on a release that may still be running: put
 * it behind patched() (CONTRIBUTING, "Changing workflow code"). Needs no stack.
 */
const root = fileURLToPath(new URL('../test/histories/', import.meta.url));
const releases = readdirSync(root, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();
const files = releases.flatMap((release) =>
  readdirSync(root + release)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => `${release}/${f}`),
);
const scenario = (f: string) => f.replace(/(\.run-\d+)?\.json$/, '');

describe('committed workflow histories replay on the current code', () => {
  it('covers every recorded scenario of 1.0', () => {
    const names = new Set(files.filter((f) => f.startsWith('1.0/')).map((f) => scenario(f.slice('1.0/'.length))));
    expect([...names].sort()).toEqual([
      'collection-continued-as-new',
      'lifecycle-cancelled',
      'lifecycle-failed-gate',
      'lifecycle-generative',
      'lifecycle-rejected',
      'lifecycle-serving',
      'lifecycle-vetoed',
      'lifecycle-withdrawn',
      'model-entity',
      'rlhf-round-generative',
      'rlhf-round-paused',
      'rlhf-round-staked',
    ]);
    // The collection chain really continued as new.
    expect(files.filter((f) => f.startsWith('1.0/collection-continued-as-new.run-')).length).toBeGreaterThan(1);
  });

  it("replays every release's histories without non-determinism", async () => {
    const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: readHistoryFile(root + f) }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories(
      // With the tracing interceptors, as the workers run (headers on commands are not checked on replay).
      {
        workflowsPath,
        interceptors: { workflowModules: workflowInterceptorModules },
        replayName: 'committed-histories',
      },
      histories,
    )) {
      replayed++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.name}: ${r.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  }, 120_000);
});
