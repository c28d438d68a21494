/** Ledger assets. */
export type Asset = 'OPEN' | 'gOPEN';
export const ASSETS: readonly Asset[] = ['OPEN', 'gOPEN'];

/** System ledger accounts. Participant accounts are their addresses. */
export const accountsOf = {
  issuer: (asset: Asset) => `issuer:${asset}`,
  escrow: (proposalId: string) => `escrow:proposal:${proposalId}`,
  /** Per-record submission deposits of a Datanet, held until each record is accepted or not. */
  datanetDeposits: (datanetId: string) => `deposits:datanet:${datanetId}`,
  modelPool: (modelName: string) => `pool:model:${modelName}`,
  /** Rewards accrued to a served model, paid to its contributors at each settlement epoch. */
  modelRewards: (modelName: string) => `rewards:model:${modelName}`,
  /** What one epoch collected from modelRewards before splitting it (so a retry splits the same amount). */
  modelEpoch: (modelName: string, epoch: number) => `epoch:model:${modelName}:${epoch}`,
  validatorStake: (address: string) => `stake:validator:${address}`,
  /** Unstaked validator stake, waiting out the unbonding period before its owner can claim it. */
  unbonding: (address: string) => `unbonding:validator:${address}`,
  /** A passed proposal's treasury budget, reserved at pass time; what it pays for comes from here. */
  budget: (proposalId: string) => `budget:proposal:${proposalId}`,
  treasury: 'treasury',
} as const;
