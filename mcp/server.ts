import * as z from 'zod';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { InferResponse } from '../api/schemas/models.js';
import type { ProposalResponse } from '../api/schemas/proposals.js';
import type { ReviewAnswerResponse, ReviewsResponse } from '../api/schemas/reviews.js';
import type { ContributionResponse, ContributionsResponse } from '../api/schemas/datanets.js';
import type { ModelListResponse } from '../api/schemas/openai.js';
import type { ReceiptResponse } from '../api/schemas/receipts.js';
import { receiptProblems, type ReceiptBundle } from '../domain/serving/receipts.js';
import {
  answerReviewInput,
  callModelInput,
  contributeInput,
  contributionInput,
  receiptInput,
  listModelsInput,
  verifyReceiptInput,
  proposalStatusInput,
  requests,
  reviewTasksInput,
  signedToolRequest,
  type ApiRequest,
} from './requests.js';

export interface ApiResponse {
  status: number;
  body: unknown;
}

/**
 * Sends one request to the Commons API with the credentials of the MCP session: the API key for
 * paid calls; for signed ones, a signature (made locally over stdio, carried in the tool call's
 * `_meta` over HTTP).
 */
export type ApiSender = (req: ApiRequest, meta: Record<string, unknown> | undefined) => Promise<ApiResponse>;

export interface CommonsMcpOptions {
  send: ApiSender;
  /** The signing key's address, when the server holds one: list_review_tasks defaults to it. */
  signer?: string;
}

const Attribution = z.object({
  contributors: z.array(z.object({ contributor: z.string(), weight: z.number() })),
  records: z.array(z.object({ hash: z.string(), contributor: z.string(), influence: z.number() })),
});
const ReviewTask = z.object({
  id: z.string(),
  proposalId: z.string(),
  round: z.number(),
  prompt: z.string(),
  candidates: z.array(z.string()),
  requiredAnswers: z.number(),
  answers: z.number(),
});

const outputs = {
  listModels: z.object({
    models: z.array(
      z.object({ name: z.string(), productionVersion: z.number(), task: z.string(), developer: z.string() }),
    ),
    nextCursor: z.string().nullable(),
  }),
  callModel: z.object({
    answer: z.string(),
    model: z.string(),
    version: z.number(),
    probabilities: z.record(z.string(), z.number()),
    attribution: Attribution,
    fee: z.string().describe('OPEN base units charged for the call'),
    receiptId: z.string().describe("the call's receipt id: get_receipt shows its attribution and fee split"),
  }),
  receipt: z.object({
    id: z.string(),
    model: z.string(),
    version: z.number(),
    fee: z.string(),
    inputHash: z.string().nullable(),
    attribution: Attribution,
    splits: z.array(
      z.object({
        to: z.string(),
        part: z.string(),
        amount: z.string(),
        transfer: z.object({ id: z.number(), idempotencyKey: z.string(), amount: z.string() }).nullable(),
      }),
    ),
  }),
  verifyReceipt: z.object({
    receiptId: z.string(),
    model: z.string(),
    version: z.number(),
    epoch: z.number().describe('the settlement epoch whose root commits the receipt'),
    verified: z.boolean(),
    problems: z.array(z.string()).describe('every reason it does not verify; empty when it does'),
    root: z.string().describe('the epoch root it was checked against'),
    source: z.enum(['given', 'published']).describe("the agent's root, or the API's published one"),
  }),
  proposalStatus: z.object({
    proposalId: z.string(),
    modelName: z.string(),
    title: z.string(),
    proposer: z.string(),
    stage: z.string(),
    status: z.string(),
    reason: z.string().nullable(),
    progress: z.record(z.string(), z.unknown()).optional().describe('what is moving in the current stage'),
  }),
  reviewTasks: z.object({ reviewer: z.string(), tasks: z.array(ReviewTask) }),
  answerReview: z.object({ accepted: z.literal(true), answers: z.number() }),
  contribute: z.object({ hash: z.string(), status: z.enum(['stored', 'already-stored']) }),
  contribution: z.object({ contributions: z.array(z.record(z.string(), z.unknown())) }),
};

/** The API's refusal as the agent reads it: the status and the API's reason. */
function refusal(r: ApiResponse): string {
  const b = r.body as { error?: unknown; details?: unknown } | null;
  const reason = typeof b?.error === 'string' ? b.error : JSON.stringify(r.body);
  const details = b?.details === undefined ? '' : ` (${JSON.stringify(b.details)})`;
  return `refused: ${r.status} ${reason}${details}`;
}

const failed = (text: string): CallToolResult => ({ isError: true, content: [{ type: 'text', text }] });
const refused = (r: ApiResponse): CallToolResult => failed(refusal(r));
const answered = (r: ApiResponse) => r.status >= 200 && r.status < 300;

// What the tool reads of a proof and an epoch before the check: what names the published root to
// fetch, and what it reports. The check itself (receiptProblems) takes the whole bundle as served.
const BundleHead = z.object({
  receipt: z.object({ id: z.string(), model: z.string(), version: z.number().int(), epoch: z.number().int() }),
});
const PublishedEpoch = z.object({ model: z.string(), epoch: z.number().int(), root: z.string() });

const ok = (out: Record<string, unknown>): CallToolResult => ({
  structuredContent: out,
  content: [{ type: 'text', text: JSON.stringify(out) }],
});

/**
 * The Commons MCP server: one definition for both transports (`commons mcp` over stdio and `/mcp`
 * in the API). Each tool is one request of the HTTP API, so every money and permission rule is
 * the API's own; verify_receipt reads two public ones and runs the receipt check of domain/ on them.
 */
export function createCommonsMcpServer(opts: CommonsMcpOptions): McpServer {
  const server = new McpServer({ name: 'commons', version: '1.0.0' });
  const { send } = opts;

  async function call<T>(
    req: ApiRequest,
    meta: Record<string, unknown> | undefined,
    shape: (body: T) => Record<string, unknown>,
  ): Promise<CallToolResult> {
    const r = await send(req, meta);
    return answered(r) ? ok(shape(r.body as T)) : refused(r);
  }

  server.registerTool(
    'list_models',
    {
      title: 'List models',
      description: 'The models Commons serves (each with a production version), a page at a time.',
      inputSchema: listModelsInput,
      outputSchema: outputs.listModels,
      annotations: { readOnlyHint: true },
    },
    (args, extra) =>
      call<ModelListResponse>(requests.listModels(args), extra._meta, (b) => ({
        models: b.data.map((m) => ({
          name: m.id,
          productionVersion: m.commons.productionVersion,
          task: m.commons.task,
          developer: m.owned_by,
        })),
        nextCursor: b.nextCursor,
      })),
  );

  server.registerTool(
    'call_model',
    {
      title: 'Call a model',
      description:
        "A paid call of a model's production version with the session's API key: the answer, the contributors it is attributed to, the fee charged and the call's receipt id.",
      inputSchema: callModelInput,
      outputSchema: outputs.callModel,
      annotations: { readOnlyHint: false, idempotentHint: false },
    },
    (args, extra) =>
      call<InferResponse>(requests.callModel(args), extra._meta, (b) => ({
        answer: b.output,
        model: b.model,
        version: b.version,
        probabilities: b.probabilities,
        attribution: b.attribution,
        fee: b.fee,
        receiptId: b.receipt,
      })),
  );

  server.registerTool(
    'proposal_status',
    {
      title: "A proposal's status",
      description: "A model proposal's lifecycle stage and status, with the progress of the current stage.",
      inputSchema: proposalStatusInput,
      outputSchema: outputs.proposalStatus,
      annotations: { readOnlyHint: true },
    },
    (args, extra) =>
      call<ProposalResponse>(requests.proposalStatus(args), extra._meta, (p) => ({
        proposalId: p.proposalId,
        modelName: p.modelName,
        title: p.title,
        proposer: p.proposer,
        stage: p.stage,
        status: p.status,
        reason: p.reason,
        ...(p.progress ? { progress: p.progress } : {}),
      })),
  );

  server.registerTool(
    'list_review_tasks',
    {
      title: "A reviewer's tasks",
      description: 'The open review tasks assigned to a reviewer that it has not answered yet.',
      inputSchema: reviewTasksInput,
      outputSchema: outputs.reviewTasks,
      annotations: { readOnlyHint: true },
    },
    async (args, extra) => {
      const reviewer = args.reviewer ?? opts.signer;
      if (!reviewer)
        return { isError: true, content: [{ type: 'text', text: 'name the reviewer (this session has no key)' }] };
      return call<ReviewsResponse>(requests.reviewTasks(reviewer), extra._meta, (b) => ({
        reviewer,
        tasks: b.tasks.map((t) => ({
          id: t.id,
          proposalId: t.proposalId,
          round: t.round,
          prompt: t.prompt,
          candidates: t.candidates,
          requiredAnswers: t.requiredAnswers,
          answers: t.answers,
        })),
      }));
    },
  );

  // The two tools that act as the signer send the request signedToolRequest builds, which the
  // client signed from the same arguments.
  const signedRequest = (name: string, args: unknown): ApiRequest => {
    const req = signedToolRequest(name, args);
    if (!req) throw new Error(`${name}: arguments that passed the schema built no request`);
    return req;
  };

  server.registerTool(
    'answer_review',
    {
      title: 'Answer a review task',
      description:
        'Answer a review task assigned to the signing key: pick the best candidate. Needs the review bond; the answer is sealed until the round settles.',
      inputSchema: answerReviewInput,
      outputSchema: outputs.answerReview,
      annotations: { readOnlyHint: false, idempotentHint: false },
    },
    (args, extra) =>
      call<ReviewAnswerResponse>(signedRequest('answer_review', args), extra._meta, (b) => ({
        accepted: b.accepted,
        answers: b.answers,
      })),
  );

  server.registerTool(
    'contribute_record',
    {
      title: 'Contribute a record',
      description:
        "Contribute one record to an open Datanet, signed with the user's key (the contributor role). The record is scored when the Datanet closes.",
      inputSchema: contributeInput,
      outputSchema: outputs.contribute,
      annotations: { readOnlyHint: false, idempotentHint: true },
    },
    (args, extra) =>
      call<ContributionResponse>(signedRequest('contribute_record', args), extra._meta, (b) => ({
        hash: b.hash,
        status: b.status,
      })),
  );

  server.registerTool(
    'find_contribution',
    {
      title: 'Find a contribution',
      description: 'Where a record (by hash) was contributed, by whom, and how it was scored.',
      inputSchema: contributionInput,
      outputSchema: outputs.contribution,
      annotations: { readOnlyHint: true },
    },
    (args, extra) =>
      call<ContributionsResponse>(requests.contribution(args), extra._meta, (b) => ({
        contributions: b.contributions,
      })),
  );

  server.registerTool(
    'get_receipt',
    {
      title: "A paid call's receipt",
      description:
        "A call's receipt, read with the API key that paid it: the model version, a hash of the input, the records and contributors the answer is attributed to, and the fee split with the ledger transfer of each part.",
      inputSchema: receiptInput,
      outputSchema: outputs.receipt,
      annotations: { readOnlyHint: true },
    },
    (args, extra) =>
      call<ReceiptResponse>(requests.receipt(args), extra._meta, (r) => ({
        id: r.id,
        model: r.model,
        version: r.version,
        fee: r.fee,
        inputHash: r.inputHash,
        attribution: r.attribution,
        splits: r.splits.map((x) => ({
          to: x.to,
          part: x.part,
          amount: x.amount,
          transfer: x.transfer
            ? { id: x.transfer.id, idempotencyKey: x.transfer.idempotencyKey, amount: x.transfer.amount }
            : null,
        })),
      })),
  );

  server.registerTool(
    'verify_receipt',
    {
      title: 'Verify a receipt',
      description:
        "Check a paid call's receipt once its settlement epoch has closed, as `commons verify-receipt` does: it hashes to its proof's leaf, the Merkle proof leads to the epoch's root (the one given, else the API's published one), and its fee split matches the fee and the ledger transfers that paid it.",
      inputSchema: verifyReceiptInput,
      outputSchema: outputs.verifyReceipt,
      annotations: { readOnlyHint: true },
    },
    async (args, extra) => {
      const proof = await send(requests.receiptProof(args), extra._meta);
      // The route answers an open epoch's receipt like an unknown id.
      if (proof.status === 404)
        return failed(`${refusal(proof)}: a receipt's proof is available once its settlement epoch closes`);
      if (!answered(proof)) return refused(proof);
      const head = BundleHead.safeParse(proof.body);
      if (!head.success) return failed(`the API's proof of receipt ${args.receiptId} is not a receipt bundle`);
      const r = head.data.receipt;
      let trusted: { model: string; epoch: number; root: string };
      if (args.root) trusted = { model: r.model, epoch: r.epoch, root: args.root.toLowerCase() };
      else {
        const e = await send(requests.receiptEpoch(r.model, r.epoch), extra._meta);
        if (!answered(e)) return refused(e);
        const published = PublishedEpoch.safeParse(e.body);
        if (!published.success) return failed(`the API's epoch ${r.epoch} of ${r.model} is not a published epoch`);
        trusted = published.data;
      }
      const problems = receiptProblems(proof.body as ReceiptBundle, trusted);
      // A genuine proof of another receipt verifies on its own: the bundle must be the one asked for.
      if (r.id !== args.receiptId) problems.unshift(`the proof is of receipt ${r.id}, not ${args.receiptId}`);
      return ok({
        receiptId: args.receiptId,
        model: r.model,
        version: r.version,
        epoch: r.epoch,
        verified: problems.length === 0,
        problems,
        root: trusted.root,
        source: args.root ? 'given' : 'published',
      });
    },
  );

  const read = async (uri: URL, req: ApiRequest) => {
    const r = await send(req, undefined);
    if (r.status < 200 || r.status >= 300) throw new Error(refusal(r));
    return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(r.body) }] };
  };
  server.registerResource(
    'model',
    new ResourceTemplate('commons://models/{name}', { list: undefined }),
    { title: 'A model', description: 'A model, its versions and lineage', mimeType: 'application/json' },
    (uri, { name }) => read(uri, requests.model(String(name))),
  );
  server.registerResource(
    'proposal',
    new ResourceTemplate('commons://proposals/{id}', { list: undefined }),
    {
      title: 'A proposal',
      description: 'A proposal, its parameters, stage and progress',
      mimeType: 'application/json',
    },
    (uri, { id }) => read(uri, requests.proposalStatus({ proposalId: String(id) })),
  );
  return server;
}
