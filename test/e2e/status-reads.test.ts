import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, testWorkerOptions, type TestApp } from '../support/app.js';
import { participant, proposalBody, retireGovernor, uniqueId } from '../support/participants.js';
import { EMAIL_KEYWORDS } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { startWorkers } from '../../workers/runtime.js';
import type { CommonsClient } from '../../client/commons-client.js';
import type { ProposalResponse } from '../../api/schemas/proposals.js';
import { STAGES, type LifecycleStatusView, type Stage } from '../../domain/lifecycle/types.js';

/**
 * Status reads come from the Postgres read model, not from the workflow (docs/operations.md, "Status reads"):
 * polling sends Temporal no query and no describe, answers while no worker runs, and at every stage
 * says what the workflow's own query (`?live=1`) says.
 */
/** JSON with sorted keys: the read model is jsonb, which does not keep the workflow's key order. */
const canonical = (v: unknown): string =>
  JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : x,
  );

describe('status reads from the read model', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let gov: CommonsClient;
  let contributor: CommonsClient;
  let reviewer: CommonsClient;
  const id = uniqueId('reads');
  const seen: Record<string, { projected: ProposalResponse; live: ProposalResponse }> = {};

  const projected = () => dev.proposal(id);
  const live = () => dev.proposal(id, { live: true });
  const workflowReads = async () => {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const n = (kind: string) =>
      Number(new RegExp(`commons_api_workflow_reads_total\\{kind="${kind}"\\} (\\d+)`).exec(text)?.[1] ?? NaN);
    return { query: n('query'), describe: n('describe') };
  };
  const after = (s: ProposalResponse, stage: Stage) =>
    STAGES.indexOf(s.stage as Stage) > STAGES.indexOf(stage) || s.status !== 'running';
  /**
   * Both views once they agree on `pick` (the projection may trail the workflow by one activity).
   * With `orMovedOn`, also as soon as both have left the stage (a short stage can end between two
   * polls), so the loop never outlives its test and sends no query into the tests after it.
   */
  const agreeing = async <T>(
    stage: Stage,
    pick: (s: ProposalResponse) => T,
    timeoutMs = 120_000,
    opts: { orMovedOn?: boolean } = {},
  ) =>
    eventually(
      async () => {
        const [p, l] = [await projected(), await live()];
        // A live read the workflow did not answer within its deadline is the read model again.
        if (l.source !== 'workflow') return undefined;
        if (opts.orMovedOn && after(p, stage) && after(l, stage)) return { p, l, movedOn: true };
        if (p.stage !== stage || l.stage !== stage) return undefined;
        if (canonical(pick(p)) !== canonical(pick(l))) return undefined;
        seen[stage] = { projected: p, live: l };
        return { p, l, movedOn: false };
      },
      timeoutMs,
      200,
    );

  beforeAll(async () => {
    app = await startTestApp();
    dev = await participant(app.url, ['developer'], { OPEN: '5000' });
    gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    contributor = await participant(app.url, ['contributor']);
    reviewer = await participant(app.url, ['reviewer'], { OPEN: '5000' });
    // Review rounds assign tasks among bonded reviewers who enlisted for the proposal.
    await reviewer.bondForReview('1000');
    await dev.propose(
      proposalBody(id, {
        governance: { votingPeriodMs: 120_000 },
        collection: {
          windowMs: 120_000,
          targetCount: 150,
          pollIntervalMs: 300,
          batchSize: 50,
          minAcceptedRecords: 20,
          keywords: EMAIL_KEYWORDS,
        },
        training: { hyperparams: { epochs: 3, learningRate: 2 } },
        // No gold items: the round's two tasks are the generated ones this test follows.
        rlhf: { rounds: 1, promptsPerRound: 2, answersPerItem: 1, roundDeadlineMs: 3_600_000, goldPerRound: 0 },
        deployment: { minAccuracy: 0, minMacroF1: 0 },
      }),
    );
    await reviewer.enlistForReview(id);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
  });

  it('governance: the tally and the voting window match the workflow', async () => {
    await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
    const { p, l } = await agreeing('governance', (s) => s.lifecycle?.governance?.tally);
    expect(p.source).toBe('projection');
    expect(l.source).toBe('workflow');
    expect(p.lifecycle?.governance?.snapshotTotal).toBe(l.lifecycle?.governance?.snapshotTotal);
    expect(p.lifecycle?.governance?.voters).toBe(l.lifecycle?.governance?.voters);
    // The projection's window opens when the snapshot row commits, a few ms before the workflow's clock.
    expect(Math.abs((p.lifecycle?.governance?.closesAt ?? 0) - (l.lifecycle?.governance?.closesAt ?? 0))).toBeLessThan(
      5_000,
    );
    // The vote goes in right after the read model showed voting open.
    const voted = await gov.vote(id, 'yes');
    const [tally, liveTally] = await Promise.all([
      dev.tally(id),
      fetch(`${app.url}/v1/proposals/${id}/tally?live=1`).then((r) => r.json() as Promise<{ tally?: unknown }>),
    ]);
    expect(tally.votes.map((v) => v.option)).toEqual(['yes']);
    expect(voted.tally.yes).toBe('100000000');
    if (tally.open) expect(tally.tally).toEqual(liveTally.tally);
    else expect(tally.outcome).toBe('passed');
    await retireGovernor(gov, dev.address);
  });

  it('data collection: phase and counts match the workflow', async () => {
    await eventually(async () => ((await projected()).stage === 'data-collection' ? true : undefined), 60_000);
    await eventually(async () =>
      (await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined,
    );
    const window = await projected();
    expect(window.progress?.collection).toMatchObject({ phase: 'window', received: 0, targetCount: 150 });
    await contributor.contributeBatch(
      id,
      loadSpamAssassin({ limit: 150, seed: 21 }).map((r) => ({ text: r.text, label: r.label })),
    );
    // Once scoring has finished (or in the window phase, once the poll has seen every record) both
    // agree; on an idle machine the whole collection can end between two polls, and then its final
    // result is compared instead.
    const { p, movedOn } = await agreeing(
      'data-collection',
      (s) => {
        const c = s.progress?.collection;
        return c && { phase: c.phase, received: c.received, targetCount: c.targetCount };
      },
      90_000,
      { orMovedOn: true },
    );
    if (!movedOn) expect(p.progress?.collection).toMatchObject({ targetCount: 150 });
    else {
      // Both have left the stage: its result is final, and the projection shows the same one.
      const results = await eventually(async () => {
        const [pc, lc] = [(await projected()).lifecycle?.collection, (await live()).lifecycle?.collection];
        return canonical(pc) === canonical(lc) ? pc : undefined;
      }, 30_000);
      expect(results?.datasetVersionId).toBeTruthy();
      expect(results?.accepted).toBeGreaterThanOrEqual(20);
    }
  }, 180_000);

  it('training and rlhf: the collection result, the training result and the open round match', async () => {
    // The round's tasks exist once its candidates are generated.
    await eventually(async () => ((await projected()).progress?.round?.tasks.length === 2 ? true : undefined), 540_000);
    const { p, l } = await agreeing(
      'rlhf',
      (s) => ({
        collection: s.lifecycle?.collection,
        training: s.lifecycle?.training,
        // As a set: the read model lists tasks by id, the workflow in the order it created them.
        round: s.progress?.round?.tasks.map((t) => [t.id, t.answers, t.required]).sort(),
        roundOpen: s.progress?.round?.open,
      }),
      540_000,
    );
    expect(p.lifecycle?.collection?.accepted).toBeGreaterThanOrEqual(20);
    expect(p.lifecycle?.training?.runId).toBe(`${id}-train`);
    expect(p.progress?.round?.round).toBe(l.progress?.round?.round);
    expect(p.progress?.round?.tasks.length).toBe(2);
  }, 600_000);

  it('polling sends Temporal no query or describe, and answers while every worker is stopped', async () => {
    // The lifecycle waits for reviewers: stop every worker in this process.
    await app.workers?.shutdown();
    app.workers = undefined;
    const before = await workflowReads();
    expect(before.query).toBeGreaterThan(0); // the ?live=1 reads above were counted
    let slowest = 0;
    const timed = async <T>(read: () => Promise<T>) => {
      const t = Date.now();
      const r = await read();
      slowest = Math.max(slowest, Date.now() - t);
      return r;
    };
    for (let i = 0; i < 100; i++) {
      const s = await timed(projected);
      expect(s).toMatchObject({ stage: 'rlhf', status: 'running', source: 'projection' });
      expect(s.progress?.round?.tasks).toHaveLength(2);
    }
    for (let i = 0; i < 20; i++) {
      expect((await timed(() => dev.tally(id))).outcome).toBe('passed');
      expect((await timed(() => dev.proposals('?stage=rlhf'))).proposals.some((x) => x.id === id)).toBe(true);
    }
    expect(await workflowReads()).toEqual(before);
    // A query to a workflow with no worker waits for one until it times out; no read here waited.
    expect(slowest).toBeLessThan(5_000);
    app.workers = await startWorkers(['lifecycle', 'data', 'training', 'rlhf'], app.cfg, {}, testWorkerOptions());
  });

  it('the final view in Postgres is the workflow’s own final status', async () => {
    const tasks = await eventually(async () => {
      const t = (await reviewer.reviews(reviewer.address)).tasks.filter((x) => x.proposalId === id);
      return t.length === 2 ? t : undefined;
    });
    for (const t of tasks) await reviewer.answerReview(t.id, t.candidates[0]!);
    const final = await eventually(
      async () => {
        const s = await projected();
        return s.status !== 'running' ? s : undefined;
      },
      540_000,
      300,
    );
    expect(final.status).toBe('serving');
    const l = await live();
    const normal = (v: LifecycleStatusView | undefined) => JSON.parse(JSON.stringify(v)) as unknown;
    expect(normal(final.lifecycle)).toEqual(normal(l.lifecycle));
    expect(final.lifecycle?.history.map((h) => h.stage)).toEqual([
      'proposed',
      'governance',
      'data-collection',
      'training',
      'rlhf',
      'deployment',
      'serving',
    ]);
    expect(final.progress).toBeUndefined();
    // Every stage above was compared with the workflow's own answer.
    expect(Object.keys(seen)).toEqual(expect.arrayContaining(['governance', 'rlhf']));
  }, 600_000);
});
