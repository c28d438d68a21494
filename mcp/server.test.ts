import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createCommonsMcpServer, type ApiResponse } from './server.js';
import { SIGNATURE_META, type ApiRequest } from './requests.js';
import { RECEIPT_FORMAT, receiptLeaf, type Receipt, type ReceiptBundle } from '../domain/serving/receipts.js';
import { buildMerkleTree } from '../domain/data/merkle.js';

/** A closed epoch of two receipts as the API serves it: each receipt's bundle and the published epoch. */
function closedEpoch() {
  const settlement = 'g1';
  const receipt = (id: string): Receipt => ({
    format: RECEIPT_FORMAT,
    id,
    model: 'spam',
    version: 1,
    proposalId: 'p1',
    payer: 'cmPayer',
    fee: '100',
    inputHash: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    settlement,
    epoch: 3,
    contributors: [{ contributor: 'cmA', weightPpm: 1_000_000 }],
    records: [],
    splits: [
      {
        to: 'cmA',
        part: 'contributors',
        amount: '70',
        transfer: {
          id: 7,
          idempotencyKey: `infer:${settlement}:cmPayer:cmA:contributors:p1`,
          from: 'cmPayer',
          to: 'cmA',
          amount: '140',
          calls: 2,
        },
      },
      { to: 'cmPayer', part: 'developer', amount: '30', transfer: null },
    ],
  });
  const receipts = [receipt('11111111-1111-4111-8111-111111111111'), receipt('22222222-2222-4222-8222-222222222222')];
  const tree = buildMerkleTree(receipts.map(receiptLeaf));
  const epoch = { model: 'spam', epoch: 3, root: tree.root, size: 2, closedAt: '2026-01-02T00:00:00.000Z' };
  const bundles = new Map(
    receipts.map((r): [string, ReceiptBundle] => [r.id, { receipt: r, proof: tree.proof(receiptLeaf(r))!, epoch }]),
  );
  return { bundles, epoch, ids: receipts.map((r) => r.id) as [string, string] };
}

/** The server definition against a stand-in API: which request each tool sends and how it reads the answer. */
async function connected(answer: (req: ApiRequest) => ApiResponse, signer?: string) {
  const sent: { req: ApiRequest; meta: Record<string, unknown> | undefined }[] = [];
  const server = createCommonsMcpServer({
    send: (req, meta) => {
      sent.push({ req, meta });
      return Promise.resolve(answer(req));
    },
    ...(signer ? { signer } : {}),
  });
  const [a, b] = InMemoryTransport.createLinkedPair();
  await server.connect(a);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(b);
  return { client, sent };
}

describe('the Commons MCP server', () => {
  it('lists its tools with input and output schemas', async () => {
    const { client } = await connected(() => ({ status: 200, body: {} }));
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'answer_review',
      'call_model',
      'contribute_record',
      'find_contribution',
      'get_receipt',
      'list_models',
      'list_review_tasks',
      'proposal_status',
      'verify_receipt',
    ]);
    for (const t of tools) expect(t.outputSchema?.type).toBe('object');
  });

  it('calls a model as a paid request and answers with its attribution and receipt id', async () => {
    const { client, sent } = await connected(() => ({
      status: 200,
      body: {
        callId: 'c1',
        receipt: 'c1',
        model: 'm',
        version: 2,
        output: 'spam',
        probabilities: { spam: 0.9, ham: 0.1 },
        attribution: { contributors: [{ contributor: 'cmA', weight: 1 }], records: [] },
        fee: '100',
      },
    }));
    const r = await client.callTool({ name: 'call_model', arguments: { model: 'm/x', input: 'win money' } });
    expect(sent[0]?.req).toEqual({
      method: 'POST',
      path: '/v1/models/m%2Fx/infer',
      body: { input: 'win money' },
      auth: 'api-key',
    });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toMatchObject({ answer: 'spam', receiptId: 'c1', fee: '100', version: 2 });
  });

  it("turns the API's refusal into a tool error with its status and reason", async () => {
    const { client } = await connected(() => ({
      status: 402,
      body: { error: 'balance 0 is less than the 100 OPEN fee' },
    }));
    const r = await client.callTool({ name: 'call_model', arguments: { model: 'm', input: 'hi' } });
    expect(r.isError).toBe(true);
    expect(r.structuredContent).toBeUndefined();
    expect(JSON.stringify(r.content)).toContain('refused: 402 balance 0 is less than the 100 OPEN fee');
  });

  it("lists the signer's review tasks by default and hands a signed call's _meta to the sender", async () => {
    const { client, sent } = await connected(
      (req) => ({
        status: 200,
        body: req.method === 'GET' ? { tasks: [], nextCursor: null } : { accepted: true, answers: 1 },
      }),
      'cmReviewer',
    );
    const tasks = await client.callTool({ name: 'list_review_tasks', arguments: {} });
    expect(tasks.structuredContent).toEqual({ reviewer: 'cmReviewer', tasks: [] });
    expect(sent[0]?.req.path).toBe('/v1/reviews?reviewer=cmReviewer&limit=200');
    const meta = { [SIGNATURE_META]: { 'x-commons-signature': 's' } };
    const r = await client.callTool({
      name: 'answer_review',
      arguments: { taskId: 't 1', choice: 'spam' },
      _meta: meta,
    });
    expect(r.structuredContent).toEqual({ accepted: true, answers: 1 });
    expect(sent[1]).toEqual({
      req: { method: 'POST', path: '/v1/reviews/t%201', body: { choice: 'spam' }, auth: 'signature' },
      meta,
    });
  });

  it('refuses arguments its schemas refuse before any request', async () => {
    const { client, sent } = await connected(() => ({ status: 200, body: {} }));
    const r = await client.callTool({
      name: 'contribute_record',
      arguments: { datanetId: 'd', record: 'not an object' },
    });
    expect(r.isError).toBe(true);
    expect(sent).toEqual([]);
  });

  describe('verify_receipt', () => {
    const api = (serve: (id: string) => ReceiptBundle | undefined, epoch: unknown) => (req: ApiRequest) => {
      const proof = /^\/v1\/receipts\/([^/]+)\/proof$/.exec(req.path);
      const bundle = proof?.[1] ? serve(decodeURIComponent(proof[1])) : undefined;
      if (bundle) return { status: 200, body: bundle };
      if (req.path === '/v1/models/spam/epochs/3') return { status: 200, body: epoch };
      return { status: 404, body: { error: `no receipt in a closed epoch (epochs close every settlement period)` } };
    };

    it("checks a closed receipt against the API's published root with two public reads", async () => {
      const { bundles, epoch, ids } = closedEpoch();
      const { client, sent } = await connected(api((id) => bundles.get(id), epoch));
      const r = await client.callTool({ name: 'verify_receipt', arguments: { receiptId: ids[0] } });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toEqual({
        receiptId: ids[0],
        model: 'spam',
        version: 1,
        epoch: 3,
        verified: true,
        problems: [],
        root: epoch.root,
        source: 'published',
      });
      expect(sent.map((s) => s.req)).toEqual([
        { method: 'GET', path: `/v1/receipts/${ids[0]}/proof`, auth: 'none' },
        { method: 'GET', path: '/v1/models/spam/epochs/3', auth: 'none' },
      ]);
    });

    it('checks against a given root without asking the API for one, and a wrong root does not verify', async () => {
      const { bundles, epoch, ids } = closedEpoch();
      const { client, sent } = await connected(api((id) => bundles.get(id), epoch));
      const given = await client.callTool({
        name: 'verify_receipt',
        arguments: { receiptId: ids[1], root: epoch.root.toUpperCase() },
      });
      expect(given.structuredContent).toMatchObject({ verified: true, root: epoch.root, source: 'given' });
      const wrong = '0'.repeat(64);
      const r = await client.callTool({ name: 'verify_receipt', arguments: { receiptId: ids[1], root: wrong } });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ verified: false, root: wrong, source: 'given' });
      expect((r.structuredContent as { problems: string[] }).problems).toEqual([
        `the inclusion proof does not lead to the root ${wrong}`,
      ]);
      expect(sent.map((s) => s.req.path)).toEqual([`/v1/receipts/${ids[1]}/proof`, `/v1/receipts/${ids[1]}/proof`]);
    });

    it('does not verify a bundle whose split was tampered with, nor the genuine proof of another receipt', async () => {
      const { bundles, epoch, ids } = closedEpoch();
      const tampered = structuredClone(bundles.get(ids[0])!);
      tampered.receipt.splits[0]!.amount = '100';
      const { client } = await connected(api(() => tampered, epoch));
      const r = await client.callTool({ name: 'verify_receipt', arguments: { receiptId: ids[0] } });
      expect(r.structuredContent).toMatchObject({ verified: false, source: 'published' });
      const problems = (r.structuredContent as { problems: string[] }).problems.join('\n');
      expect(problems).toMatch(/the receipt hashes to [0-9a-f]{64}, the proof is for leaf/);
      expect(problems).toMatch(/the split sums to 130, the fee is 100/);

      const other = await connected(api(() => bundles.get(ids[1]), epoch));
      const swapped = await other.client.callTool({ name: 'verify_receipt', arguments: { receiptId: ids[0] } });
      expect(swapped.structuredContent).toMatchObject({ receiptId: ids[0], verified: false });
      expect((swapped.structuredContent as { problems: string[] }).problems).toEqual([
        `the proof is of receipt ${ids[1]}, not ${ids[0]}`,
      ]);
    });

    it('answers that the proof comes once the epoch closes, and refuses a bad root before any request', async () => {
      const { epoch, ids } = closedEpoch();
      const { client, sent } = await connected(api(() => undefined, epoch));
      const open = await client.callTool({ name: 'verify_receipt', arguments: { receiptId: ids[0] } });
      expect(open.isError).toBe(true);
      expect(JSON.stringify(open.content)).toContain(
        "refused: 404 no receipt in a closed epoch (epochs close every settlement period): a receipt's proof is available once its settlement epoch closes",
      );
      expect(sent).toHaveLength(1);
      const bad = await client.callTool({ name: 'verify_receipt', arguments: { receiptId: ids[0], root: 'abc' } });
      expect(bad.isError).toBe(true);
      expect(JSON.stringify(bad.content)).toContain('a Merkle root is 64 hex digits');
      expect(sent).toHaveLength(1);
    });
  });
});
