import * as z from 'zod';
import { HEADER_ADDRESS, HEADER_PUBLIC_KEY, HEADER_SIGNATURE, HEADER_TIMESTAMP } from '../identity/request-signing.js';

/**
 * The HTTP request each MCP tool stands for. Every tool is an ordinary call of the Commons API, so
 * the API's checks (signature, replay, role, bond, balance, schema) decide it, on both transports.
 */
export interface ApiRequest {
  method: 'GET' | 'POST';
  /** Path and query, as signed. */
  path: string;
  body?: unknown;
  /** none: a public read; api-key: a paid call (bearer key); signature: acts as the signer. */
  auth: 'none' | 'api-key' | 'signature';
}

/** Where the client puts the signature headers of a signed tool's request (a tools/call `_meta` key). */
export const SIGNATURE_META = 'commons/signature';

const id = (what: string) => z.string().min(1).max(200).describe(what);
const seg = encodeURIComponent;

export const listModelsInput = z.object({
  cursor: z.string().max(500).optional().describe('nextCursor of the previous page'),
});
export const callModelInput = z.object({
  model: id('the model name (list_models)'),
  input: z.string().min(1).max(100_000).describe('the text to classify or the prompt to answer'),
  topK: z.number().int().min(1).max(50).optional().describe('how many training records to attribute the answer to'),
});
export const proposalStatusInput = z.object({
  proposalId: id('the proposal id'),
  live: z.boolean().optional().describe("ask the lifecycle workflow itself instead of the API's read model"),
});
export const reviewTasksInput = z.object({
  reviewer: z.string().max(200).optional().describe("the reviewer's address (default: the signing key's)"),
});
export const answerReviewInput = z.object({
  taskId: id('the review task id (list_review_tasks)'),
  choice: z.string().min(1).max(100_000).describe('the chosen candidate, exactly as listed'),
});
export const contributeInput = z.object({
  datanetId: id("the Datanet's id (a proposal's Datanet has the proposal's id)"),
  record: z.record(z.string(), z.unknown()).describe("the record: a JSON object matching the Datanet's schema"),
});
export const receiptInput = z.object({
  receiptId: id("the call's receipt id (call_model's receiptId)"),
});
export const verifyReceiptInput = z.object({
  receiptId: z
    .string()
    .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, 'a receipt id is the call id (a UUID)')
    .describe("the call's receipt id (call_model's receiptId)"),
  root: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'a Merkle root is 64 hex digits')
    .optional()
    .describe(
      "a root of the receipt's epoch the agent trusts (recorded earlier, or the model entity's); default: the API's published root",
    ),
});
export const contributionInput = z.object({
  hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .describe("the record's hash"),
});

export const requests = {
  listModels: (a: z.infer<typeof listModelsInput>): ApiRequest => ({
    method: 'GET',
    path: `/v1/models${a.cursor ? `?cursor=${seg(a.cursor)}` : ''}`,
    auth: 'none',
  }),
  callModel: (a: z.infer<typeof callModelInput>): ApiRequest => ({
    method: 'POST',
    path: `/v1/models/${seg(a.model)}/infer`,
    body: { input: a.input, ...(a.topK ? { topK: a.topK } : {}) },
    auth: 'api-key',
  }),
  proposalStatus: (a: z.infer<typeof proposalStatusInput>): ApiRequest => ({
    method: 'GET',
    path: `/v1/proposals/${seg(a.proposalId)}${a.live ? '?live=1' : ''}`,
    auth: 'none',
  }),
  reviewTasks: (reviewer: string): ApiRequest => ({
    method: 'GET',
    path: `/v1/reviews?reviewer=${seg(reviewer)}&limit=200`,
    auth: 'none',
  }),
  answerReview: (a: z.infer<typeof answerReviewInput>): ApiRequest => ({
    method: 'POST',
    path: `/v1/reviews/${seg(a.taskId)}`,
    body: { choice: a.choice },
    auth: 'signature',
  }),
  contribute: (a: z.infer<typeof contributeInput>): ApiRequest => ({
    method: 'POST',
    path: `/v1/datanets/${seg(a.datanetId)}/contributions`,
    body: { payload: a.record },
    auth: 'signature',
  }),
  contribution: (a: z.infer<typeof contributionInput>): ApiRequest => ({
    method: 'GET',
    path: `/v1/contributions/${a.hash}`,
    auth: 'none',
  }),
  model: (name: string): ApiRequest => ({ method: 'GET', path: `/v1/models/${seg(name)}`, auth: 'none' }),
  // The payer reads its receipts with the key that paid (the route also takes an account it pays, signed).
  receipt: (a: z.infer<typeof receiptInput>): ApiRequest => ({
    method: 'GET',
    path: `/v1/receipts/${seg(a.receiptId)}`,
    auth: 'api-key',
  }),
  // Public once the receipt's epoch closed (404 before): no credentials.
  receiptProof: (a: z.infer<typeof verifyReceiptInput>): ApiRequest => ({
    method: 'GET',
    path: `/v1/receipts/${seg(a.receiptId)}/proof`,
    auth: 'none',
  }),
  receiptEpoch: (model: string, epoch: number): ApiRequest => ({
    method: 'GET',
    path: `/v1/models/${seg(model)}/epochs/${epoch}`,
    auth: 'none',
  }),
};

/**
 * The request a call of a tool that acts as the signer stands for, from its arguments parsed by the
 * tool's own schema: a client signs it (mcp/signing-fetch.ts) and the server sends it (mcp/server.ts),
 * both from the same parse, so the signed bytes and the sent bytes agree. Undefined for any other
 * tool, and for arguments the server refuses anyway (the schema error is then the answer).
 */
export function signedToolRequest(name: string, args: unknown): ApiRequest | undefined {
  if (name === 'answer_review') {
    const p = answerReviewInput.safeParse(args);
    return p.success ? requests.answerReview(p.data) : undefined;
  }
  if (name === 'contribute_record') {
    const p = contributeInput.safeParse(args);
    return p.success ? requests.contribute(p.data) : undefined;
  }
  return undefined;
}

/** The exact body bytes a request is signed over and sent with. */
export const bodyText = (req: ApiRequest): string | undefined =>
  req.body === undefined ? undefined : JSON.stringify(req.body);

const SIGNATURE_HEADERS = [HEADER_ADDRESS, HEADER_PUBLIC_KEY, HEADER_TIMESTAMP, HEADER_SIGNATURE] as const;

/**
 * The signature headers a tool call carries in `_meta` (only these four names are taken, so a call
 * cannot smuggle any other header into the request it stands for); none when it carries none.
 */
export function signatureHeadersOf(meta: Record<string, unknown> | undefined): Record<string, string> {
  const carried = meta?.[SIGNATURE_META];
  if (typeof carried !== 'object' || carried === null) return {};
  const out: Record<string, string> = {};
  for (const name of SIGNATURE_HEADERS) {
    const v = (carried as Record<string, unknown>)[name];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}
