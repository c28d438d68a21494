/** Ledger assets. */
export type Asset = 'OPEN' | 'gOPEN';
export const ASSETS: readonly Asset[] = ['OPEN', 'gOPEN'];

/** System ledger accounts. Participant accounts are their addresses. */
export const accountsOf = {
  issuer: (asset: Asset) => `issuer:${asset}`,
  escrow: (proposalId: string) => `escrow:proposal:${proposalId}`,
  modelPool: (modelName: string) => `pool:model:${modelName}`,
  validatorStake: (address: string) => `stake:validator:${address}`,
  treasury: 'treasury',
} as const;
