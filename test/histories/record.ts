// `npm run histories:record`: runs real lifecycles on a fresh local stack and writes their event
// histories to test/histories/<release>/*.json (the release is package.json's major.minor), which
// workflows/replay.test.ts replays against the current workflow code together with every earlier
// release's. A release's histories are recorded once, on its code, and then kept: see CONTRIBUTING,
// "Changing workflow code". What it records is fixed: the same scenarios, the same file names.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { ensureGoTool } from '../../infra/local/go-tools.js';
import { runScenario, waitForStage } from '../../scenarios/scenario.js';
import { runGenerativeScenario } from '../../scenarios/generative-scenario.js';
import { retireUpdate } from '../../contracts/messages.js';
import { startTestApp, eventually, type TestApp } from '../support/app.js';
import { participant, proposalBody, retireGovernor } from '../support/participants.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { reviewRoundHarness } from '../support/review-round.js';
import type { CommonsClient } from '../../client/commons-client.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
/** This release's histories: major.minor, so patch releases (no workflow change) share them. */
const RELEASE = version.split('.').slice(0, 2).join('.');
const HISTORIES_DIR = join(dirname(fileURLToPath(import.meta.url)), RELEASE);
const log = (line: string) => console.log(`[histories] ${line}`);

/** One recorded history: `<name>.json`, or `<name>.run-<n>.json` for each run of a continue-as-new chain. */
interface Recording {
  name: string;
  workflowId: string;
}

/**
 * HISTORIES_ONLY=name,name records only those recordings (and runs only the scenarios that make
 * them), leaving every other file of this release as it is: e.g. a new path's history added before
 * the release is cut.
 */
const ONLY = process.env.HISTORIES_ONLY?.split(',').filter(Boolean);
const want = (...names: string[]) => !ONLY || names.some((n) => ONLY.includes(n));

async function recordAll(app: TestApp): Promise<Recording[]> {
  const dev = await participant(app.url, ['developer'], { OPEN: '100000' });
  const governance = { governance: { votingPeriodMs: 60_000 }, collection: { windowMs: 600_000 } };
  const votingOpen = (id: string) => eventually(async () => ((await dev.tally(id)).open ? true : undefined));
  const ended = (id: string) =>
    eventually(
      async () => {
        const s = await dev.proposal(id);
        return s.status !== 'running' ? s : undefined;
      },
      120_000,
      200,
    );
  // One governor holds (nearly) all voting power for one proposal, then gives it away so it never
  // weighs on the next proposal's quorum.
  const withDominantGovernor = async <T>(fn: (g: CommonsClient) => Promise<T>): Promise<T> => {
    const g = await participant(app.url, ['governor'], { gOPEN: '1000000000' });
    try {
      return await fn(g);
    } finally {
      await retireGovernor(g, dev.address);
    }
  };
  const expectStatus = (s: Record<string, unknown>, status: string) => {
    if (s.status !== status)
      throw new Error(`expected ${status}, the lifecycle ended ${String(s.status)}: ${String(s.reason)}`);
  };
  const recordings: Recording[] = [];

  for (const [name, option] of [
    ['rejected', 'no'],
    ['vetoed', 'veto'],
  ] as const) {
    if (!want(`lifecycle-${name}`)) continue;
    const id = `hist-${name}`;
    await withDominantGovernor(async (g) => {
      await dev.propose(proposalBody(id, governance));
      await votingOpen(id);
      await g.vote(id, option);
      expectStatus(await ended(id), name);
    });
    recordings.push({ name: `lifecycle-${name}`, workflowId: workflowIds.lifecycle(id) });
    log(`${name}: done`);
  }

  if (want('lifecycle-withdrawn')) {
    const id = 'hist-withdrawn';
    await dev.propose(proposalBody(id, governance));
    await votingOpen(id);
    await dev.withdraw(id);
    expectStatus(await ended(id), 'withdrawn');
    recordings.push({ name: 'lifecycle-withdrawn', workflowId: workflowIds.lifecycle(id) });
    log('withdrawn: done');
  }

  if (want('lifecycle-cancelled')) {
    // Cancelled while the collection child runs: the cancellation reaches the child and the
    // compensations run in a non-cancellable scope.
    const id = 'hist-cancelled';
    await withDominantGovernor(async (g) => {
      await dev.propose(proposalBody(id, governance));
      await votingOpen(id);
      await g.vote(id, 'yes');
    });
    await waitForStage(dev, id, 'data-collection', () => {});
    await eventually(async () =>
      (await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined,
    );
    await app.temporal.workflow.getHandle(workflowIds.lifecycle(id)).cancel();
    expectStatus(await ended(id), 'cancelled');
    recordings.push({ name: 'lifecycle-cancelled', workflowId: workflowIds.lifecycle(id) });
    log('cancelled: done');
  }

  if (want('lifecycle-failed-gate')) {
    // Not enough data: the window closes with nothing contributed and the data gate fails.
    const id = 'hist-failed-gate';
    await withDominantGovernor(async (g) => {
      await dev.propose(
        proposalBody(id, {
          governance: { votingPeriodMs: 60_000 },
          collection: { windowMs: 2_000, pollIntervalMs: 300, minAcceptedRecords: 10 },
        }),
      );
      await votingOpen(id);
      await g.vote(id, 'yes');
    });
    expectStatus(await ended(id), 'failed-gate');
    recordings.push({ name: 'lifecycle-failed-gate', workflowId: workflowIds.lifecycle(id) });
    log('failed gate: done');
  }

  if (want('lifecycle-serving', 'collection-continued-as-new', 'rlhf-round-staked', 'model-entity')) {
    // The whole lifecycle through serving, with a collection that continues as new (two batches
    // per run) and one RLHF round. It hands version 1 to the model's entity workflow.
    const id = 'hist-serving';
    const modelName = 'spam-hist-serving';
    const owner = await participant(app.url, ['developer'], { OPEN: '100000' });
    const deployment = { minAccuracy: 0, minMacroF1: 0, maxRegression: 1 };
    await runScenario({
      baseUrl: app.url,
      log: (l) => log(`serving: ${l}`),
      proposalId: id,
      modelName,
      developer: owner,
      records: 150,
      contributors: 2,
      pollMs: 300,
      params: {
        stake: '1000',
        collection: { batchSize: 40, parallelism: 2, batchesPerRun: 2, minAcceptedRecords: 30 },
        training: { hyperparams: { epochs: 4, checkpointEvery: 20 }, heartbeatTimeoutMs: 30_000 },
        deployment,
        serving: { feePerCall: '100', rewardPool: '1000', settlementPeriodMs: 1000 },
      },
    });
    recordings.push(
      { name: 'lifecycle-serving', workflowId: workflowIds.lifecycle(id) },
      { name: 'collection-continued-as-new', workflowId: workflowIds.collection(id) },
      { name: 'rlhf-round-staked', workflowId: workflowIds.rlhfRound(id, 1) },
    );
    log('serving: done');
    if (want('model-entity')) {
      // The model entity: a second lifecycle promotes version 2 into it (an Update), the developer
      // rolls back to version 1 through the API, reward epochs settle, and the model retires.
      await runScenario({
        baseUrl: app.url,
        log: (l) => log(`model v2: ${l}`),
        proposalId: `${id}-v2`,
        modelName,
        developer: owner,
        records: 120,
        contributors: 2,
        pollMs: 300,
        params: {
          stake: '1000',
          training: { hyperparams: { epochs: 4, checkpointEvery: 20 }, heartbeatTimeoutMs: 30_000 },
          rlhf: { rounds: 0 },
          deployment,
        },
      });
      const entity = app.temporal.workflow.getHandle(workflowIds.model(modelName));
      await owner.rollback(modelName, 1);
      // Let a reward epoch or two settle after the rollback (the period is a second).
      await new Promise((r) => setTimeout(r, 2500));
      await entity.executeUpdate(retireUpdate, { args: [{ requester: owner.address, reason: 'history recording' }] });
      await entity.result();
      recordings.push({ name: 'model-entity', workflowId: workflowIds.model(modelName) });
      log('model entity: done');
    }
  }
  if (want('lifecycle-generative', 'rlhf-round-generative')) {
    // The generation path: a chat Datanet, the RAG model, a pairwise review round, serving.
    const id = 'hist-generative';
    await runGenerativeScenario({
      baseUrl: app.url,
      log: (l) => log(`generative: ${l}`),
      proposalId: id,
      modelName: 'health-hist-generative',
      perTopic: 14,
      contributors: 3,
      pollMs: 300,
      params: { stake: '500' },
    });
    recordings.push(
      { name: 'lifecycle-generative', workflowId: workflowIds.lifecycle(id) },
      { name: 'rlhf-round-generative', workflowId: workflowIds.rlhfRound(id, 1) },
    );
    log('generative: done');
  }
  if (want('rlhf-round-paused')) {
    // A staked round that draws a paused reviewer: round 1 pauses a reviewer that misses its gold
    // items; round 2, recorded, assigns it an ordinary mix.
    const h = await reviewRoundHarness(app);
    const id = await h.proposal();
    const honest = await Promise.all([1, 2, 3].map(() => h.reviewer(20_000n, id)));
    const newbie = await h.reviewer(5000n, id);
    const answerAll = async (wrong: CommonsClient | undefined) =>
      Promise.all(
        [...honest, newbie].map(async (r) => {
          for (const t of (await r.reviews(r.address)).tasks.filter((x) => x.proposalId === id)) {
            const label = h.truth.get(t.prompt)!;
            await r.answerReview(t.id, r === wrong ? t.candidates.find((c) => c !== label)! : label);
          }
        }),
      );
    const shape = { promptsPerRound: 3, answersPerItem: 4, roundDeadlineMs: 60_000, extraReviewers: 0 };
    for (const round of [1, 2]) {
      const handle = await h.startRound(id, round, { ...shape, goldPerRound: round === 1 ? 2 : 3 });
      await h.openTasks(id, round);
      await answerAll(round === 1 ? newbie : undefined);
      await handle.result();
    }
    recordings.push({ name: 'rlhf-round-paused', workflowId: workflowIds.rlhfRound(id, 2) });
    log('paused reviewer round: done');
  }
  return recordings;
}

/** Every run of the workflow id, oldest first: one file per run (a continue-as-new chain has several). */
async function writeRecording(app: TestApp, r: Recording): Promise<string[]> {
  const runs: { runId: string; startTime: number }[] = [];
  for await (const w of app.temporal.workflow.list({ query: `WorkflowId = "${r.workflowId}"` }))
    runs.push({ runId: w.runId, startTime: w.startTime.getTime() });
  runs.sort((a, b) => a.startTime - b.startTime);
  if (runs.length === 0) throw new Error(`no runs of ${r.workflowId}`);
  const files: string[] = [];
  // The Temporal CLI's JSON, the format the SDKs' replayers and the Temporal UI's download use.
  const temporal = await ensureGoTool('temporal');
  for (const [i, run] of runs.entries()) {
    const json = execFileSync(
      temporal,
      [
        'workflow',
        'show',
        '--address',
        app.cfg.temporal.address,
        '--namespace',
        app.cfg.temporal.namespace,
        '--workflow-id',
        r.workflowId,
        '--run-id',
        run.runId,
        '--output',
        'json',
      ],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    );
    const file = runs.length === 1 ? `${r.name}.json` : `${r.name}.run-${i + 1}.json`;
    writeFileSync(join(HISTORIES_DIR, file), JSON.stringify(JSON.parse(json), null, 1) + '\n');
    files.push(file);
  }
  return files;
}

let exitCode = 0;
try {
  // A stack of its own (fresh state, removed on close): the recordings never share a ledger.
  const app = await startTestApp({ stack: true });
  try {
    const recordings = await recordAll(app);
    // Visibility is eventually consistent: wait until every run of a continue-as-new chain is listed.
    await new Promise((r) => setTimeout(r, 2000));
    const kept = (f: string) => ONLY && !ONLY.includes(f.replace(/(\.run-\d+)?\.json$/, ''));
    mkdirSync(HISTORIES_DIR, { recursive: true });
    for (const f of readdirSync(HISTORIES_DIR)) if (f.endsWith('.json') && !kept(f)) rmSync(join(HISTORIES_DIR, f));
    for (const r of recordings.filter((x) => want(x.name))) log(`wrote ${(await writeRecording(app, r)).join(', ')}`);
  } finally {
    await app.close();
  }
} catch (err) {
  exitCode = 1;
  console.error(err);
}
process.exit(exitCode);
