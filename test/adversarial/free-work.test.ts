import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, eventually, refusal, type TestApp } from '../support/app.js';
import { participant, passAndOpenDatanet, proposalBody, uniqueId } from '../support/participants.js';
import type { CommonsClient } from '../../client/commons-client.js';
import { EMAIL_KEYWORDS, SPAM_SPEC } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { workflowIds } from '../../contracts/workflow-ids.js';
import { generateKeyPair } from '../../identity/keys.js';
import { deploymentIdOf, signRequest } from '../../identity/request-signing.js';

/**
 * No free work: each request below used to make the API do work for a caller who was then refused,
 * or the same work once per caller. A signer nobody registered (or one without the role, or bound
 * for a Datanet that does not exist) had a 64 MiB body read, hashed and parsed before its 403; a
 * batch refused for its deposit left its pack in S3; every read of a Datanet counted its records;
 * proof requests arriving together built the dataset's Merkle tree once each; and an API key whose
 * owner cannot pay got a model loaded and a prediction made before its 402.
 */
const DEPOSIT = '10';
const FEE = '100';
const records = loadSpamAssassin({ limit: 200, seed: 5 })
  .filter((r) => r.text.split(' ').length > 40)
  .map((r) => ({ text: r.text, label: r.label }));

describe('adversarial: no free work', () => {
  let app: TestApp;
  let dev: CommonsClient;
  let gov: CommonsClient;
  const id = uniqueId('freework');

  async function metric(name: string, label = ''): Promise<number> {
    const text = await (await fetch(`${app.url}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(name) && l.includes(label));
    return Number(line?.split(' ').at(-1) ?? 0);
  }
  const computed = (read: string) => metric('commons_api_shared_read_computations_total', `read="${read}"`);

  /** The status the API answers with while only 64 KiB of a large declared body were sent (undefined: it waits for the body). */
  async function answerBeforeBody(
    path: string,
    headers: Record<string, string>,
    declared = 60 * 1024 * 1024,
  ): Promise<number | undefined> {
    const url = new URL(app.url + path);
    return new Promise((resolve) => {
      const req = request({
        host: url.hostname,
        port: url.port,
        path,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(declared) },
      });
      const timer = setTimeout(() => {
        req.destroy();
        resolve(undefined);
      }, 5000);
      req.on('response', (res) => {
        clearTimeout(timer);
        res.resume();
        resolve(res.statusCode);
        req.destroy();
      });
      req.on('error', () => undefined);
      req.write(Buffer.alloc(64 * 1024, 0x20));
    });
  }

  beforeAll(async () => {
    app = await startTestApp({ workers: ['lifecycle', 'data'] });
    dev = await participant(app.url, ['developer'], { OPEN: '100000' });
    gov = await participant(app.url, ['governor'], { gOPEN: '100000000' });
    await dev.propose({
      ...proposalBody(id, {
        governance: { votingPeriodMs: 60_000 },
        collection: {
          windowMs: 600_000,
          targetCount: 100_000,
          pollIntervalMs: 300,
          batchSize: 50,
          minAcceptedRecords: 1,
          keywords: EMAIL_KEYWORDS,
        },
        serving: { feePerCall: FEE },
      }),
      datanetSpec: { ...SPAM_SPEC, access: { deposit: DEPOSIT } },
      budget: '0',
    });
    await passAndOpenDatanet(dev, gov, id, dev.address);
  }, 180_000);

  afterAll(async () => {
    await app?.temporal.workflow
      .getHandle(workflowIds.lifecycle(id))
      .cancel()
      .catch(() => undefined);
    await app?.close();
  });

  it("answers a stranger's, a role-less signer's and an unknown Datanet's 60 MiB batch before reading it", async () => {
    const path = `/v1/datanets/${id}/contributions/batch`;
    const deploymentId = await deploymentIdOf(app.url);
    const headersOf = (keys: ReturnType<typeof generateKeyPair>, p = path) =>
      signRequest({ deploymentId, method: 'POST', path: p, body: '{}', keys });
    expect(await answerBeforeBody(path, headersOf(generateKeyPair()))).toBe(403);
    const developer = await participant(app.url, ['developer']);
    expect(await answerBeforeBody(path, headersOf(developer.keys!))).toBe(403);
    const contributor = await participant(app.url, ['contributor']);
    const nowhere = `/v1/datanets/${uniqueId('nowhere')}/contributions/batch`;
    expect(await answerBeforeBody(nowhere, headersOf(contributor.keys!, nowhere))).toBe(404);
    // One record of at most 64 KiB declared as 1.5 MiB (within the route's 2 MiB): refused before it is read.
    const one = `/v1/datanets/${id}/contributions`;
    expect(await answerBeforeBody(one, headersOf(contributor.keys!, one), 1.5 * 1024 * 1024)).toBe(413);
  });

  it('leaves no pack in S3 behind a batch refused for its deposit', async () => {
    const broke = await participant(app.url, ['contributor']);
    const refused = await refusal(broke.contributeBatch(id, records.slice(0, 5)));
    expect(refused.status).toBe(402);
    expect(await app.store.list(`datanets/${id}/packs/`)).toEqual([]);
    expect(await app.sql`select 1 from contributions where datanet_id = ${id}`).toHaveLength(0);
    // A contributor who can pay stores its batch, in one pack.
    const paying = await participant(app.url, ['contributor'], { OPEN: '10000' });
    expect((await paying.contributeBatch(id, records.slice(0, 60))).stored).toBe(60);
    expect(await app.store.list(`datanets/${id}/packs/`)).toHaveLength(1);
  });

  it("counts a Datanet's records once for reads arriving together", async () => {
    await new Promise((r) => setTimeout(r, 1100)); // past any counts an earlier read left
    const before = await computed('datanet-counts');
    const reads = await Promise.all(Array.from({ length: 40 }, () => fetch(`${app.url}/v1/datanets/${id}`)));
    expect(reads.map((r) => r.status)).toEqual(reads.map(() => 200));
    const counted = (await computed('datanet-counts')) - before;
    expect(counted).toBeGreaterThanOrEqual(1);
    expect(counted).toBeLessThanOrEqual(2);
  });

  it('builds the Merkle tree of a dataset version once for proof requests arriving together', async () => {
    await dev.closeDatanet(id);
    const version = await eventually(async () => (await dev.datanet(id)).datasetVersion ?? undefined, 300_000);
    const accepted = await app.sql<
      { hash: string }[]
    >`select hash from contributions where datanet_id = ${id} and status = 'accepted' limit 10`;
    expect(accepted.length).toBeGreaterThan(0);
    const before = await computed('merkle-tree');
    const proofs = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        fetch(`${app.url}/v1/contributions/${accepted[i % accepted.length]!.hash}/proof`),
      ),
    );
    expect(proofs.map((r) => r.status)).toEqual(proofs.map(() => 200));
    for (const p of proofs) expect(((await p.json()) as { root: string }).root).toBe(version.merkleRoot);
    expect((await computed('merkle-tree')) - before).toBe(1);
  }, 300_000);

  it('gives an API key whose owner cannot pay its 402 before any model is loaded', async () => {
    // A served version of this proposal (fee 100 per call), registered as the lifecycle's
    // deployment would, its artifact never loaded by the calls below.
    const [v] = await app.sql<{ id: string; merkle_root: string }[]>`
      select id, merkle_root from dataset_versions where datanet_id = ${id} order by version desc limit 1`;
    if (!v) throw new Error('no dataset version');
    const model = `free-${id}`;
    await app.sql`insert into models (name, developer, proposal_id, production_version) values (${model}, ${dev.address}, ${id}, 1)`;
    await app.sql`
      insert into model_versions (model_name, version, proposal_id, prefix, artifact_key, sha256, dataset_version_id, merkle_root, lineage, metrics, status)
      values (${model}, 1, ${id}, ${`models/${model}/1/`}, ${`models/${model}/1/model.bin`}, ${'0'.repeat(64)}, ${v.id}, ${v.merkle_root}, ${app.sql.json({})}, ${app.sql.json({})}, 'production')`;
    const broke = await participant(app.url, ['app-builder', 'contributor'], { OPEN: '99' });
    const { apiKey } = await broke.issueApiKey('broke');
    const loads = () => metric('commons_model_loads_total');
    const before = await loads();
    const call = (path: string, body: unknown) =>
      fetch(app.url + path, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify(body),
      });
    const answers = await Promise.all([
      call(`/v1/models/${model}/infer`, { input: 'free money, click here' }),
      call(`/v1/models/${model}/versions/1/infer`, { input: 'free money, click here' }),
      call('/v1/chat/completions', { model: `${model}@1`, messages: [{ role: 'user', content: 'hi' }] }),
      call('/v1/chat/completions', { model, messages: [{ role: 'user', content: 'hi' }], stream: true }),
    ]);
    for (const a of answers) {
      expect(a.status).toBe(402);
      const body = (await a.json()) as { error: string | { message: string } };
      // The native route answers `{ error }`, the OpenAI-compatible ones OpenAI's `{ error: { message } }`.
      expect(typeof body.error === 'string' ? body.error : body.error.message).toMatch(
        /99 OPEN available, less than the 100 OPEN/,
      );
    }
    expect(await loads()).toBe(before);
    const [calls] = await app.sql<
      { n: number }[]
    >`select count(*)::int as n from inference_calls where payer = ${broke.address}`;
    expect(calls?.n).toBe(0);
    expect((await app.ledger.checkInvariants()).problems).toEqual([]);
  });
});
