import { signedFetch } from '../identity/request-signing.js';
import type { KeyPair } from '../identity/keys.js';
import { contentHash } from '../domain/data/content-hash.js';
import {
  envelopeToWire,
  readerContext,
  sealRecord,
  type RecordEnvelopeWire,
} from '../domain/data/envelope/record-envelope.js';
import type {
  AccountResponse,
  BalancesResponse,
  DelegationResponse,
  RegisterResponse,
  RewardsResponse,
  StakeResponse,
  TransferResponse,
} from '../api/schemas/accounts.js';
import type {
  ListProposalsResponse,
  ProposalBody,
  ProposalResponse,
  ProposeResponse,
  TallyResponse,
  VoteResponse,
  WithdrawResponse,
} from '../api/schemas/proposals.js';
import type {
  ClosingResponse,
  ContributionBatchResponse,
  ContributionResponse,
  DatanetResponse,
  ContributionsResponse,
  ContributionPayloadResponse,
  ProofResponse,
} from '../api/schemas/datanets.js';
import type {
  ReviewAnswerResponse,
  ReviewBondResponse,
  ReviewEnlistResponse,
  ReviewerResponse,
  ReviewRoundsResponse,
  ReviewsResponse,
} from '../api/schemas/reviews.js';
import type {
  ClaimResponse,
  ProtocolResponse,
  UnbondingListResponse,
  UnstakeResponse,
} from '../api/schemas/protocol.js';
import type { ApiKeyResponse, InferResponse, ModelResponse, RollbackResponse } from '../api/schemas/models.js';
import type { SealedReadResponse } from '../api/schemas/record-reads.js';
import { generateX25519KeyPair, openSealed } from '../domain/data/envelope/sealed-box.js';
import type { ErasureResponse } from '../api/schemas/erasure.js';
import type {
  ContributorReceiptsResponse,
  EpochsResponse,
  ReceiptBundleView,
  ReceiptEpochView,
} from '../api/schemas/receipts.js';

/** The API's `{ error }` reason, or the OpenAI-compatible routes' `{ error: { message } }`. */
const errorText = (e: unknown): string =>
  typeof e === 'object' && e !== null && 'message' in e ? String(e.message) : String(e);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    what: string,
    /** Seconds to wait before retrying, from a 429's Retry-After. */
    readonly retryAfterSeconds?: number,
  ) {
    super(
      `${what} → ${status}: ${typeof body === 'object' && body && 'error' in body ? errorText(body.error) : JSON.stringify(body)}`,
    );
  }
}

function retryAfter(headers: Headers): number | undefined {
  const v = Number(headers.get('retry-after'));
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** The largest page a list route serves (api/pagination.ts; the client imports only the API's types). */
const MAX_PAGE_SIZE = 200;

/** A record's payload: a JSON object. */
export type Payload = Record<string, unknown>;
/** A record as a contribution route takes it: the payload, or its envelope for an encrypted Datanet. */
type ContributionRecord = { payload: Payload } | { envelope: RecordEnvelopeWire };

/**
 * A typed client for the Commons HTTP API: signs state-changing requests with the participant's
 * key. Used by the CLI, the demo and the end-to-end tests, and published as @commons/client
 * (packages/). Each method states its return type, so the package's declarations name the API's
 * types (`Promise<InferResponse>`) instead of spelling out, or reaching into, server modules.
 */
export class CommonsClient {
  constructor(
    readonly baseUrl: string,
    readonly keys?: KeyPair,
  ) {}

  get address(): string {
    if (!this.keys) throw new Error('this client has no key');
    return this.keys.address;
  }

  /** Signed request; throws ApiError unless the status is 2xx. */
  async signed<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T> {
    if (!this.keys) throw new Error('a key is needed to sign requests (commons keys new)');
    const r = await signedFetch(this.baseUrl, this.keys, method, path, body ?? (method === 'GET' ? undefined : {}), {
      headers,
    });
    if (r.status < 200 || r.status >= 300)
      throw new ApiError(r.status, r.json, `${method} ${path}`, retryAfter(r.headers));
    return r.json as T; // the API serializes every 2xx body through the route's response schema
  }

  async get<T = unknown>(path: string, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(this.baseUrl + path, { headers });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, body, `GET ${path}`, retryAfter(res.headers));
    return body as T;
  }

  async post<T = unknown>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
    const res = await fetch(this.baseUrl + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    const json = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, json, `POST ${path}`, retryAfter(res.headers));
    return json as T;
  }

  register(roles: string[], displayName?: string): Promise<RegisterResponse> {
    return this.signed<RegisterResponse>('POST', '/v1/accounts', { roles, displayName });
  }
  faucet(asset: 'OPEN' | 'gOPEN', amount: string, address = this.address): Promise<BalancesResponse> {
    return this.post<BalancesResponse>('/v1/faucet', { address, asset, amount });
  }
  account(address = this.address): Promise<AccountResponse> {
    return this.get<AccountResponse>(`/v1/accounts/${address}`);
  }
  /** Every page of a list route (each page's `nextCursor` asks for the next), its items concatenated under `field`. */
  async allPages<T extends { nextCursor: string | null }, F extends keyof T>(path: string, field: F): Promise<T> {
    const sep = path.includes('?') ? '&' : '?';
    const first = await this.get<T>(`${path}${sep}limit=${MAX_PAGE_SIZE}`);
    const items = [...(first[field] as unknown[])];
    for (let cursor = first.nextCursor; cursor !== null;) {
      const next = await this.get<T>(`${path}${sep}limit=${MAX_PAGE_SIZE}&cursor=${cursor}`);
      items.push(...(next[field] as unknown[]));
      cursor = next.nextCursor;
    }
    return { ...first, [field]: items, nextCursor: null };
  }
  rewards(address = this.address): Promise<RewardsResponse> {
    return this.allPages<RewardsResponse, 'rewards'>(`/v1/accounts/${address}/rewards`, 'rewards');
  }
  /** With an `idempotencyKey`, retrying (even after a lost response) moves the amount once. */
  transfer(
    to: string,
    asset: 'OPEN' | 'gOPEN',
    amount: string,
    opts: { idempotencyKey?: string; memo?: string } = {},
  ): Promise<TransferResponse> {
    return this.signed<TransferResponse>('POST', '/v1/transfers', { to, asset, amount, ...opts });
  }
  stakeAsValidator(amount: string, opts: { idempotencyKey?: string } = {}): Promise<StakeResponse> {
    return this.signed<StakeResponse>('POST', '/v1/validators/stake', { amount, ...opts });
  }
  /** Starts unbonding validator stake; claimable after the protocol's unbonding period. */
  unstake(amount: string): Promise<UnstakeResponse> {
    return this.signed<UnstakeResponse>('POST', '/v1/validators/unstake', { amount });
  }
  claimUnbonded(): Promise<ClaimResponse> {
    return this.signed<ClaimResponse>('POST', '/v1/validators/unbonding/claim', {});
  }
  unbonding(address = this.address): Promise<UnbondingListResponse> {
    return this.get<UnbondingListResponse>(`/v1/validators/${address}/unbonding`);
  }
  /** The protocol settings every proposal is judged by. */
  protocol(): Promise<ProtocolResponse> {
    return this.get<ProtocolResponse>('/v1/protocol');
  }
  delegate(delegatee: string): Promise<DelegationResponse> {
    return this.signed<DelegationResponse>('POST', '/v1/delegations', { delegatee });
  }
  propose(body: ProposalBody): Promise<ProposeResponse> {
    return this.signed<ProposeResponse>('POST', '/v1/proposals', body);
  }
  /** From the API's read model; `live` asks the workflow itself (a query: use it sparingly). */
  proposal(id: string, opts: { live?: boolean } = {}): Promise<ProposalResponse> {
    return this.get<ProposalResponse>(`/v1/proposals/${id}${opts.live ? '?live=1' : ''}`);
  }
  proposals(query = ''): Promise<ListProposalsResponse> {
    return this.get<ListProposalsResponse>(`/v1/proposals${query}`);
  }
  tally(id: string): Promise<TallyResponse> {
    return this.get<TallyResponse>(`/v1/proposals/${id}/tally`);
  }
  vote(id: string, option: 'yes' | 'no' | 'abstain' | 'veto'): Promise<VoteResponse> {
    return this.signed<VoteResponse>('POST', `/v1/proposals/${id}/votes`, { option });
  }
  withdraw(id: string): Promise<WithdrawResponse> {
    return this.signed<WithdrawResponse>('POST', `/v1/proposals/${id}/withdraw`, {});
  }
  /** Contributes a record; to an encrypted Datanet it is sealed here first (the API never sees its plaintext). */
  async contribute(datanetId: string, payload: Payload): Promise<ContributionResponse> {
    const seal = await this.sealerFor(datanetId);
    return this.signed<ContributionResponse>('POST', `/v1/datanets/${datanetId}/contributions`, seal(payload));
  }
  async contributeBatch(datanetId: string, payloads: Payload[]): Promise<ContributionBatchResponse> {
    const seal = await this.sealerFor(datanetId);
    return this.signed<ContributionBatchResponse>('POST', `/v1/datanets/${datanetId}/contributions/batch`, {
      records: payloads.map(seal),
    });
  }
  private readonly publicKeys = new Map<string, Buffer | null>();
  /**
   * How this Datanet takes records: as they are (public), or sealed to its public key (members and
   * private; GET /v1/datanets/:id publishes it). A Datanet's key never changes, so it is asked once.
   */
  private async sealerFor(datanetId: string): Promise<(payload: Payload) => ContributionRecord> {
    let key = this.publicKeys.get(datanetId);
    if (key === undefined) {
      const e = (await this.datanet(datanetId)).encryption;
      key = e ? Buffer.from(e.publicKey, 'base64') : null;
      this.publicKeys.set(datanetId, key);
    }
    const publicKey = key;
    return publicKey
      ? (payload) => ({ envelope: envelopeToWire(sealRecord(publicKey, datanetId, contentHash(payload).bytes)) })
      : (payload) => ({ payload });
  }
  closeDatanet(id: string): Promise<ClosingResponse> {
    return this.signed<ClosingResponse>('POST', `/v1/datanets/${id}/close`, {});
  }
  datanet(id: string): Promise<DatanetResponse> {
    return this.get<DatanetResponse>(`/v1/datanets/${id}`);
  }
  contribution(hash: string): Promise<ContributionsResponse> {
    return this.get<ContributionsResponse>(`/v1/contributions/${hash}`);
  }
  /** Signed when this client has a key: a record not yet public is served to its contributor and curators. */
  contributionPayload(hash: string): Promise<ContributionPayloadResponse> {
    const path = `/v1/contributions/${hash}/payload`;
    return this.keys
      ? this.signed<ContributionPayloadResponse>('GET', path)
      : this.get<ContributionPayloadResponse>(path);
  }
  /** Erases one of this client's records from an encrypted Datanet: its key is destroyed and it leaves the next version. */
  eraseContribution(datanetId: string, hash: string): Promise<ErasureResponse> {
    return this.signed<ErasureResponse>('POST', `/v1/datanets/${datanetId}/contributions/${hash}/erase`, {});
  }
  proof(hash: string): Promise<ProofResponse> {
    return this.get<ProofResponse>(`/v1/contributions/${hash}/proof`);
  }
  /**
   * A record of a members or private Datanet, as its curators (and a members Datanet's members)
   * read it: a worker seals it to a key pair made here for this one read, so only this client
   * opens it; the read is in the contributor's access log. Checked against its hash.
   */
  async readRecord(
    datanetId: string,
    hash: string,
  ): Promise<{ datanetId: string; hash: string; purpose: string; payload: Payload }> {
    const reader = generateX25519KeyPair();
    const r = await this.signed<SealedReadResponse>('POST', `/v1/datanets/${datanetId}/records/${hash}/read`, {
      readerPublicKey: reader.publicKey.toString('base64'),
    });
    const bytes = openSealed(reader.privateKey, Buffer.from(r.sealed, 'base64'), readerContext(datanetId, hash));
    const payload = JSON.parse(bytes.toString('utf8')) as Payload;
    if (contentHash(payload).hash !== hash) throw new Error(`the record read for ${hash} does not hash to it`);
    return { datanetId, hash, purpose: r.purpose, payload };
  }
  reviews(reviewer?: string): Promise<ReviewsResponse> {
    return this.allPages<ReviewsResponse, 'tasks'>(`/v1/reviews${reviewer ? `?reviewer=${reviewer}` : ''}`, 'tasks');
  }
  answerReview(taskId: string, choice: string): Promise<ReviewAnswerResponse> {
    return this.signed<ReviewAnswerResponse>('POST', `/v1/reviews/${encodeURIComponent(taskId)}`, { choice });
  }
  /** Bond OPEN for review (the protocol's minimum bond is needed to be assigned tasks and answer). */
  bondForReview(amount: string): Promise<ReviewBondResponse> {
    return this.signed<ReviewBondResponse>('POST', '/v1/reviews/bond', { amount });
  }
  /** Enlist for a proposal's review rounds (assignments are drawn among the enlisted, bonded reviewers). */
  enlistForReview(proposalId: string): Promise<ReviewEnlistResponse> {
    return this.signed<ReviewEnlistResponse>('POST', '/v1/reviews/enlist', { proposalId });
  }
  reviewer(address: string): Promise<ReviewerResponse> {
    return this.get<ReviewerResponse>(`/v1/reviews/reviewers/${encodeURIComponent(address)}`);
  }
  reviewRounds(proposalId: string): Promise<ReviewRoundsResponse> {
    return this.get<ReviewRoundsResponse>(`/v1/reviews/rounds?proposalId=${encodeURIComponent(proposalId)}`);
  }
  issueApiKey(label?: string): Promise<ApiKeyResponse> {
    return this.signed<ApiKeyResponse>('POST', '/v1/api-keys', { label });
  }
  model(name: string): Promise<ModelResponse> {
    return this.get<ModelResponse>(`/v1/models/${name}`);
  }
  rollback(name: string, version: number): Promise<RollbackResponse> {
    return this.signed<RollbackResponse>('POST', `/v1/models/${name}/rollback`, { version });
  }
  infer(name: string, input: string, apiKey: string, version?: number): Promise<InferResponse> {
    const path = version ? `/v1/models/${name}/versions/${version}/infer` : `/v1/models/${name}/infer`;
    return this.post<InferResponse>(path, { input }, { authorization: `Bearer ${apiKey}` });
  }
  /** A receipt of a closed epoch with its inclusion proof (check it with verifyReceipt, domain/serving/receipts.ts). */
  receiptProof(id: string): Promise<ReceiptBundleView> {
    return this.get<ReceiptBundleView>(`/v1/receipts/${encodeURIComponent(id)}/proof`);
  }
  /** A closed settlement epoch of a model: the published root of its receipts. */
  receiptEpoch(model: string, epoch: number): Promise<ReceiptEpochView> {
    return this.get<ReceiptEpochView>(`/v1/models/${encodeURIComponent(model)}/epochs/${epoch}`);
  }
  receiptEpochs(model: string): Promise<EpochsResponse> {
    return this.allPages<EpochsResponse, 'epochs'>(`/v1/models/${encodeURIComponent(model)}/epochs`, 'epochs');
  }
  /** One page of the closed receipts naming this client's account, each with its proof (signed). */
  myReceipts(page: { cursor?: string; limit?: number } = {}): Promise<ContributorReceiptsResponse> {
    const q = new URLSearchParams();
    if (page.limit) q.set('limit', String(page.limit));
    if (page.cursor) q.set('cursor', page.cursor);
    const query = q.size ? `?${q.toString()}` : '';
    return this.signed<ContributorReceiptsResponse>('GET', `/v1/accounts/${this.address}/receipts${query}`);
  }
}
