import { describe, expect, it } from 'vitest';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { createCommonsMcpServer, type ApiResponse } from './server.js';
import { SIGNATURE_META, type ApiRequest } from './requests.js';

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
});
