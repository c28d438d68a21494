import { generateKeyPair } from '../../identity/keys.js';
import { CommonsClient } from '../../client/commons-client.js';
import { SPAM_SPEC } from '../../scenarios/scenario.js';
import { eventually } from './app.js';

/** A registered, funded participant talking to the test API. */
export async function participant(
  baseUrl: string,
  roles: string[],
  funds: { OPEN?: string; gOPEN?: string } = {},
): Promise<CommonsClient> {
  const c = new CommonsClient(baseUrl, generateKeyPair());
  await c.register(roles);
  if (funds.OPEN) await c.faucet('OPEN', funds.OPEN);
  if (funds.gOPEN) await c.faucet('gOPEN', funds.gOPEN);
  return c;
}

/** A minimal valid proposal body for tests, with every duration in seconds. */
export function proposalBody(id: string, params: Record<string, unknown> = {}) {
  return {
    id,
    modelName: `m-${id}`,
    title: 'Test model',
    description: 'A spam classifier used by the test suite.',
    rationale: 'tests',
    domain: 'email spam',
    labels: ['spam', 'ham'],
    datanetSpec: SPAM_SPEC,
    params: { stake: '500', ...params },
  };
}

let seq = 0;
export const uniqueId = (prefix: string) => `${prefix}-${Date.now().toString(36)}-${(seq++).toString(36)}`;

/** Hands a governor's gOPEN to `to`, so a governor made for one proposal never weighs on the next one's quorum. */
export async function retireGovernor(g: CommonsClient, to: string): Promise<void> {
  const { balances } = (await g.account()) as { balances: { gOPEN: string } };
  if (balances.gOPEN !== '0') await g.transfer(to, 'gOPEN', balances.gOPEN);
}

/**
 * Votes a proposal through with one governor as soon as voting opens, waits until its Datanet is
 * open for contributions, then retires the governor (its power would weigh on later quorums).
 */
export async function passAndOpenDatanet(
  dev: CommonsClient,
  gov: CommonsClient,
  id: string,
  retireTo = 'treasury',
): Promise<void> {
  await eventually(async () => ((await dev.tally(id)).open ? true : undefined));
  await gov.vote(id, 'yes');
  await eventually(async () => ((await dev.datanet(id).catch(() => undefined))?.status === 'open' ? true : undefined));
  await retireGovernor(gov, retireTo);
}
