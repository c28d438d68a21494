import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { temporal } from '@temporalio/proto';
import { startTestApp, type TestApp } from '../support/app.js';
import { hostileRecords, splitlines, type HostileRecord } from '../support/hostile-records.js';
import { runScenario, type ScenarioResult } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { contentHash } from '../../domain/data/content-hash.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import type { lifecycleWorkflow } from '../../workflows/index.js';

/**
 * The whole-lifecycle fuzz: every record of one lifecycle is real mail with hostile pieces spliced
 * in (each Unicode line and paragraph separator, U+0085, lone CR, control characters, a BOM, bidi
 * overrides, ZWJ emoji, 2,000-character tokens, text that looks like JSON or a manifest line). The
 * records pass scoring like the mail they carry, so they go through the manifest, training, review
 * and serving; no stage may fail, or even retry, because of what a record's text holds. Before the
 * manifest's lines were written and read as one format (storage/jsonl.ts), one record holding
 * U+2028 split its manifest line and training failed on every attempt.
 */
/** Which texts: the same seed gives the same run; set HOSTILE_RECORDS_SEED to try others. */
const SEED = Number(process.env.HOSTILE_RECORDS_SEED ?? 23);
const FEE = '10';

describe('adversarial: hostile record texts through a whole lifecycle', () => {
  let app: TestApp;
  let r: ScenarioResult;
  let hostile: HostileRecord[];
  const byHash = new Map<string, HostileRecord>();
  const id = `hostile-${Date.now().toString(36)}`;
  const modelName = `spam-${id}`;

  beforeAll(async () => {
    app = await startTestApp();
    // Mails short enough that a 2,000-character token keeps them within the spec's 20,000 characters.
    const mails = loadSpamAssassin({ seed: 5 })
      .filter((m) => m.text.length < 12_000)
      .slice(0, 280);
    hostile = hostileRecords(mails, SEED);
    for (const h of hostile) byHash.set(contentHash({ text: h.text, label: h.label }).hash, h);
    r = await runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: id,
      modelName,
      records: hostile.length,
      corpus: hostile,
      contributors: 3,
      pollMs: 300,
      params: {
        stake: '1000',
        training: { hyperparams: { checkpointEvery: 20 }, heartbeatTimeoutMs: 30_000 },
        deployment: { minAccuracy: 0.6, minMacroF1: 0.5 },
        serving: { feePerCall: FEE, rewardPool: '1000' },
      },
    });
  }, 900_000);

  afterAll(async () => {
    await app?.close();
  });

  it('generated at least 200 hostile texts of every kind, and each passed ingest', () => {
    expect(hostile.length).toBeGreaterThanOrEqual(200);
    const kinds = new Set(hostile.flatMap((h) => h.kinds));
    expect([...kinds].sort()).toEqual(['bom', 'break', 'cluster', 'control', 'invisible', 'long-token', 'lookalike']);
    for (const c of ['\u2028', '\u2029', '\u0085', '\u000b', '\u001e'])
      expect(hostile.filter((h) => h.text.includes(c)).length).toBeGreaterThanOrEqual(3);
    expect(hostile.filter((h) => /\r(?!\n)/.test(h.text)).length).toBeGreaterThanOrEqual(3);
    expect(r.submitted.map((s) => s.hash).sort()).toEqual([...byHash.keys()].sort());
  });

  it('ended serving after every stage, with no activity failing on the way', async () => {
    const handle = app.temporal.workflow.getHandle<typeof lifecycleWorkflow>(workflowIds.lifecycle(id));
    const result = await handle.result();
    expect(result.status).toBe('serving');
    expect(result.history.map((h) => h.stage)).toEqual([
      'proposed',
      'governance',
      'data-collection',
      'training',
      'rlhf',
      'deployment',
      'serving',
    ]);
    // A record that broke a reader would fail its activity (and be retried) even where a retry
    // later got through: no failure at all in the lifecycle or any child.
    expect(await activityFailures(app, workflowIds.lifecycle(id))).toEqual([]);
  });

  it('wrote every accepted hostile record to the manifest, one line each, with its text intact', async () => {
    const [dv] = await app.sql<
      { manifest_key: string; record_count: number }[]
    >`select manifest_key, record_count from dataset_versions where datanet_id = ${id} order by version desc limit 1`;
    if (!dv) throw new Error(`no dataset version for ${id}`);
    const body = (await app.store.get(dv.manifest_key)).toString('utf8');
    // Python's str.splitlines, the widest splitter there is, finds exactly one line per record.
    const widest = splitlines(body);
    expect(widest).toHaveLength(dv.record_count);
    const lines = widest.map((l) => JSON.parse(l) as { hash: string; text: string; label: string });
    const inManifest = lines.filter((l) => byHash.has(l.hash));
    expect(inManifest.length).toBeGreaterThanOrEqual(200);
    for (const l of inManifest) expect({ text: l.text, label: l.label }).toEqual(pick(byHash.get(l.hash)!));
    const [accepted] = await app.sql<
      { n: number }[]
    >`select count(*)::int as n from contributions where datanet_id = ${id} and status = 'accepted'`;
    expect(dv.record_count).toBe(accepted?.n);
  });

  it('reviewed texts from the hostile records', async () => {
    const rows = await app.sql<{ prompt: string }[]>`select prompt from review_tasks where proposal_id = ${id}`;
    expect(rows.length).toBeGreaterThan(0);
    const texts = new Set(hostile.map((h) => h.text));
    expect(rows.filter((t) => texts.has(t.prompt)).length).toBeGreaterThan(0);
  });

  it('serves paid inference on hostile inputs, attributed to the hostile records', async () => {
    const calls = [
      r.inference,
      ...(await Promise.all(
        ['\u2028', '\u2029', '\u0085', '\r', '{"hash":"00"', '\u202e'].map((c) => {
          const h = hostile.find((x) => x.text.includes(c));
          if (!h) throw new Error(`no hostile text holds ${JSON.stringify(c)}`);
          return r.appBuilder.infer(modelName, h.text.slice(0, 3_000), r.apiKey);
        }),
      )),
    ];
    for (const call of calls) {
      expect(['spam', 'ham']).toContain(call.output);
      expect(call.fee).toBe(FEE);
      expect(call.attribution.records.length).toBeGreaterThan(0);
      const credited = call.attribution.records.filter((x) => byHash.has(x.hash));
      expect(credited.length).toBeGreaterThan(0);
      for (const x of credited) expect(x.contributor).toBe(r.submitted.find((s) => s.hash === x.hash)?.contributor);
    }
    const inv = await app.ledger.checkInvariants();
    expect(inv.problems).toEqual([]);
  });
});

const pick = (h: HostileRecord) => ({ text: h.text, label: h.label });

/**
 * Failed activity attempts in a workflow's history and its children's, as "workflow: activity:
 * message". A retried attempt leaves no event of its own: the attempt that started after it carries
 * its failure. Timeouts (a slow machine) are not the record's doing and are left out.
 */
async function activityFailures(app: TestApp, workflowId: string, runId?: string): Promise<string[]> {
  const history = await app.temporal.workflow.getHandle(workflowId, runId).fetchHistory();
  const events: temporal.api.history.v1.IHistoryEvent[] = history.events ?? [];
  const scheduled = new Map<string, string>();
  const out: string[] = [];
  const note = (scheduledId: unknown, failure: temporal.api.failure.v1.IFailure | null | undefined) => {
    if (failure && !failure.timeoutFailureInfo)
      out.push(`${workflowId}: ${scheduled.get(String(scheduledId)) ?? '?'}: ${failure.message ?? ''}`);
  };
  for (const e of events) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '?');
    const started = e.activityTaskStartedEventAttributes;
    if (started && (started.attempt ?? 1) > 1) note(started.scheduledEventId, started.lastFailure);
    const failed = e.activityTaskFailedEventAttributes;
    if (failed) note(failed.scheduledEventId, failed.failure);
  }
  for (const e of events) {
    const c = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (c?.workflowId) out.push(...(await activityFailures(app, c.workflowId, c.runId ?? undefined)));
  }
  return out;
}
