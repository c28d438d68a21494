import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/app.js';
import { participant } from '../support/participants.js';
import { runScenario, type ScenarioResult } from '../../scenarios/scenario.js';
import { startApi } from '../../api/bootstrap.js';
import { loadConfig } from '../../infra/config.js';
import { CommonsClient } from '../../client/commons-client.js';
import { attributionIndexPrefix } from '../../storage/keys.js';
import { attributionIndexKeys } from '../../ml/embedded/attribution-index.js';
import type { InferResponse } from '../../api/schemas/models.js';

/**
 * A version whose training set is above the exact-attribution limit is served through the API with
 * attribution from the index built at training time: every paid answer names records of its
 * dataset, and a second API replica answers the same from its own download of the index.
 */
describe('serving with the ANN attribution index', () => {
  let app: TestApp;
  let result: ScenarioResult;
  const run = Date.now().toString(36);
  const model = `ann-${run}`;
  const cacheDirs: string[] = [];
  const inputs = [
    'URGENT: claim your free prize now, click here to win cash',
    'Hi team, the meeting notes from yesterday are attached, see you tomorrow',
    'Lowest mortgage rates guaranteed, refinance today with no fees',
  ];

  beforeAll(async () => {
    // Each test file runs in its own process, so these settings stay in this file.
    process.env.COMMONS_EXACT_ATTRIBUTION_MAX_RECORDS = '20';
    process.env.COMMONS_INDEX_CACHE = mkdtempSync(join(tmpdir(), 'commons-ann-a-'));
    cacheDirs.push(process.env.COMMONS_INDEX_CACHE);
    app = await startTestApp();
    const dev = await participant(app.url, ['developer'], { OPEN: '10000' });
    result = await runScenario({
      baseUrl: app.url,
      log: () => {},
      proposalId: model,
      modelName: model,
      developer: dev,
      records: 160,
      contributors: 3,
      pollMs: 300,
      params: {
        stake: '500',
        serving: { feePerCall: '10', rewardPool: '300' },
        // Serving is what this file checks, not model quality.
        deployment: { minAccuracy: 0, minMacroF1: 0, maxRegression: 1 },
      },
    });
  }, 900_000);

  afterAll(async () => {
    await app?.close();
    for (const d of cacheDirs) rmSync(d, { recursive: true, force: true });
  });

  const indexSize = async (): Promise<number> => {
    const [v] = await app.sql<{ artifact_key: string }[]>`
      select artifact_key from model_versions where model_name = ${model} and version = 1`;
    const header = JSON.parse(
      (await app.store.get(attributionIndexKeys.header(attributionIndexPrefix(v!.artifact_key)))).toString('utf8'),
    ) as { size: number };
    return header.size;
  };

  const checkAttribution = (answer: InferResponse) => {
    const submitted = new Map(result.submitted.map((s) => [s.hash, s.contributor]));
    expect(answer.attribution.records.length).toBeGreaterThan(0);
    for (const r of answer.attribution.records) {
      expect(submitted.get(r.hash), `record ${r.hash} is one of the dataset's`).toBe(r.contributor);
      expect(r.hash).not.toBe(result.nearCopy.hash);
      expect(r.hash).not.toBe(result.offTopic.hash);
    }
    const weights = answer.attribution.contributors.map((c) => c.weight);
    expect(weights.every((w) => w > 0)).toBe(true);
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const named = new Set(answer.attribution.records.map((r) => r.contributor));
    for (const c of answer.attribution.contributors) expect(named.has(c.contributor)).toBe(true);
  };

  it('answers paid calls with attribution from the index, and says so in /metrics', async () => {
    const size = await indexSize();
    expect(size).toBeGreaterThan(20);
    for (const input of inputs) checkAttribution(await result.appBuilder.infer(model, input, result.apiKey));
    const metrics = await (await fetch(`${app.url}/metrics`)).text();
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('commons_attribution_records{') && l.includes(`model="${model}"`));
    expect(line).toContain('mode="ann"');
    expect(line).toContain('version="1"');
    expect(Number(line?.split(' ').pop())).toBe(size);
  });

  it('gives the same answers from a second replica that downloads and checks the index itself', async () => {
    const otherCache = mkdtempSync(join(tmpdir(), 'commons-ann-b-'));
    cacheDirs.push(otherCache);
    const replica = await startApi(loadConfig({ ...process.env, API_PORT: '0', COMMONS_INDEX_CACHE: otherCache }), {
      logger: false,
    });
    try {
      const builder = new CommonsClient(replica.url);
      for (const input of inputs) {
        const first = await result.appBuilder.infer(model, input, result.apiKey);
        const second = await builder.infer(model, input, result.apiKey);
        checkAttribution(second);
        expect(second.output).toBe(first.output);
        expect(second.attribution).toEqual(first.attribution);
      }
      // The replica memory-maps its own copy (header, records, graph) rather than rebuilding.
      const [dir] = readdirSync(otherCache).filter((d) => !d.includes('.tmp-'));
      expect(readdirSync(join(otherCache, dir!))).toEqual(expect.arrayContaining(['ann.usearch', 'header.json']));
    } finally {
      await replica.close();
    }
  });
});
