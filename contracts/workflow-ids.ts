/**
 * Workflow ids. Each is derived from the proposal (or model) it belongs to, so starting the same
 * lifecycle twice is refused by Temporal and any process can find a workflow without a lookup.
 */
export const workflowIds = {
  lifecycle: (proposalId: string) => `lifecycle-${proposalId}`,
  collection: (proposalId: string) => `collection-${proposalId}`,
  rlhfRound: (proposalId: string, round: number) => `rlhf-${proposalId}-r${round}`,
  /** The served model's long-lived entity workflow: versions, reward epochs, rollback, retirement. */
  model: (modelName: string) => `model-${modelName}`,
  /** One sealed read of an encrypted record, named by the signed request that asked for it (its digest). */
  recordRead: (requestDigest: string) => `record-read-${requestDigest}`,
} as const;
