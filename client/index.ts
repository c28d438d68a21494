// What @commons/client exports (packages/client): the typed client, the error it throws, the keys
// it signs with, and the API's request and response types.
export { ApiError, CommonsClient, type Payload } from './commons-client.js';
export {
  addressFromPublicKey,
  generateKeyPair,
  isAddress,
  keysFromPrivateKey,
  loadKeyFile,
  saveKeyFile,
  type KeyPair,
} from '../identity/keys.js';
export type {
  AccountResponse,
  BalancesResponse,
  DelegationResponse,
  RegisterResponse,
  RewardsResponse,
  StakeResponse,
  TransferResponse,
} from '../api/schemas/accounts.js';
export type {
  ListProposalsResponse,
  ProposalBody,
  ProposalResponse,
  ProposeResponse,
  TallyResponse,
  VoteResponse,
  WithdrawResponse,
} from '../api/schemas/proposals.js';
export type {
  ClosingResponse,
  ContributionBatchResponse,
  ContributionPayloadResponse,
  ContributionResponse,
  ContributionsResponse,
  DatanetResponse,
  ProofResponse,
} from '../api/schemas/datanets.js';
export type {
  ReviewAnswerResponse,
  ReviewBondResponse,
  ReviewEnlistResponse,
  ReviewRoundsResponse,
  ReviewerResponse,
  ReviewsResponse,
} from '../api/schemas/reviews.js';
export type {
  ClaimResponse,
  ProtocolResponse,
  UnbondingListResponse,
  UnstakeResponse,
} from '../api/schemas/protocol.js';
export type { ApiKeyResponse, InferResponse, ModelResponse, RollbackResponse } from '../api/schemas/models.js';
export type {
  ContributorReceiptsResponse,
  EpochsResponse,
  ReceiptBundleView,
  ReceiptEpochView,
} from '../api/schemas/receipts.js';
