// Governance vote counting. Runs inside Temporal workflows, so it must be deterministic:
// no node: imports, no clock, no randomness, and all power arithmetic in bigint (exact).

export type VoteOption = 'yes' | 'no' | 'abstain' | 'veto';
export const VOTE_OPTIONS: readonly VoteOption[] = ['yes', 'no', 'abstain', 'veto'];

export type Outcome = 'expired' | 'vetoed' | 'passed' | 'rejected';

export interface GovernanceParams {
  /** minimum cast / total power, else expired */
  quorum: number;
  /** veto / cast above this vetoes */
  vetoThreshold: number;
  /** yes / (yes + no) above this passes */
  passThreshold: number;
}

export const DEFAULT_GOVERNANCE_PARAMS: GovernanceParams = { quorum: 0.334, vetoThreshold: 0.334, passThreshold: 0.5 };

/** address -> voting power in base units (decimal string), delegation already resolved. */
export type PowerSnapshot = Record<string, string>;

export interface TallyResult {
  yes: string;
  no: string;
  abstain: string;
  veto: string;
  /** power that has voted (all four options) */
  cast: string;
  /** all snapshotted power */
  total: string;
  /** total - cast */
  remaining: string;
  /** cast / total, informational only: decisions use exact integer comparisons */
  turnout: number;
}

const DECIMAL = /^\d+$/;

function power(value: string, who: string): bigint {
  if (typeof value !== 'string' || !DECIMAL.test(value)) {
    throw new Error(`voting power of ${who} must be a non-negative decimal string, got ${String(value)}`);
  }
  return BigInt(value);
}

// Thresholds are given as numbers; compare as exact fractions n / 1_000_000.
const DENOM = 1_000_000n;

function ratio(value: number, name: string): bigint {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw new Error(`governance parameter ${name} must be a number in [0, 1], got ${String(value)}`);
  }
  return BigInt(Math.round(value * 1_000_000));
}

interface Ratios {
  quorum: bigint;
  veto: bigint;
  pass: bigint;
}

function ratios(params: GovernanceParams): Ratios {
  return {
    quorum: ratio(params.quorum, 'quorum'),
    veto: ratio(params.vetoThreshold, 'vetoThreshold'),
    pass: ratio(params.passThreshold, 'passThreshold'),
  };
}

export function validateGovernanceParams(params: GovernanceParams): void {
  ratios(params);
}

/** Counts as bigints; the core both tally() and decidedEarly() work on. */
interface Counts {
  yes: bigint;
  no: bigint;
  abstain: bigint;
  veto: bigint;
  total: bigint;
}

function isVoteOption(value: unknown): value is VoteOption {
  return typeof value === 'string' && (VOTE_OPTIONS as readonly string[]).includes(value);
}

function count(snapshot: PowerSnapshot, votes: Record<string, VoteOption>): Counts {
  const c: Counts = { yes: 0n, no: 0n, abstain: 0n, veto: 0n, total: 0n };
  for (const [addr, value] of Object.entries(snapshot)) c.total += power(value, addr);
  for (const [addr, option] of Object.entries(votes)) {
    if (!isVoteOption(option)) throw new Error(`unknown vote option ${String(option)} from ${addr}`);
    // Votes from addresses without snapshotted power weigh nothing (validateVote refuses them).
    const value = Object.prototype.hasOwnProperty.call(snapshot, addr) ? snapshot[addr] : undefined;
    if (value === undefined) continue;
    c[option] += power(value, addr);
  }
  return c;
}

function castOf(c: Counts): bigint {
  return c.yes + c.no + c.abstain + c.veto;
}

/**
 * Cosmos-SDK gov rules, all as exact integer comparisons (x/y > n/D  <=>  x*D > n*y):
 *   cast/total < quorum              -> expired   (no power at all also expires)
 *   veto/cast > vetoThreshold        -> vetoed
 *   yes/(yes+no) > passThreshold     -> passed    (yes+no = 0 -> rejected)
 *   otherwise                        -> rejected
 */
function decide(c: Counts, r: Ratios): Outcome {
  const cast = castOf(c);
  if (c.total === 0n || cast * DENOM < r.quorum * c.total) return 'expired';
  if (c.veto * DENOM > r.veto * cast) return 'vetoed';
  const decisive = c.yes + c.no;
  if (decisive > 0n && c.yes * DENOM > r.pass * decisive) return 'passed';
  return 'rejected';
}

export function tally(snapshot: PowerSnapshot, votes: Record<string, VoteOption>): TallyResult {
  const c = count(snapshot, votes);
  const cast = castOf(c);
  // Turnout in parts per billion, then to a number: deterministic and exact enough for display.
  const turnout = c.total === 0n ? 0 : Number((cast * 1_000_000_000n) / c.total) / 1_000_000_000;
  return {
    yes: c.yes.toString(),
    no: c.no.toString(),
    abstain: c.abstain.toString(),
    veto: c.veto.toString(),
    cast: cast.toString(),
    total: c.total.toString(),
    remaining: (c.total - cast).toString(),
    turnout,
  };
}

export function outcome(result: TallyResult, params: GovernanceParams = DEFAULT_GOVERNANCE_PARAMS): Outcome {
  const c: Counts = {
    yes: power(result.yes, 'yes'),
    no: power(result.no, 'no'),
    abstain: power(result.abstain, 'abstain'),
    veto: power(result.veto, 'veto'),
    total: power(result.total, 'total'),
  };
  return decide(c, ratios(params));
}

/**
 * The outcome if it can no longer change whatever the not-yet-voted power does, else null.
 *
 * Why checking five points is enough: with total fixed, each outcome's region in
 * (yes, no, abstain, veto) space is an intersection of half-spaces —
 *   expired:  cast < q*total
 *   vetoed:   cast >= q*total  and  veto > v*cast
 *   passed:   cast >= q*total  and  veto <= v*cast  and  yes > p*(yes+no)
 *   rejected: cast >= q*total  and  veto <= v*cast  and  yes <= p*(yes+no)
 * (cast = yes+no+abstain+veto; "yes+no = 0 -> rejected" is already implied since then
 * yes > p*(yes+no) reads 0 > 0) — so every region is convex. Every way the remaining power R
 * can still vote adds a point (dy, dn, da, dv) with all parts >= 0 and sum <= R: the simplex
 * with vertices "all of R to yes / no / abstain / veto / nobody". A convex set holding all
 * vertices of a simplex holds the whole simplex, so if the five vertices agree, every
 * reachable final tally (a subset of the simplex, since voters' power is indivisible) agrees.
 * The test is sufficient, not necessary: lumpy individual voters could make it decided sooner.
 */
export function decidedEarly(
  snapshot: PowerSnapshot,
  votes: Record<string, VoteOption>,
  params: GovernanceParams = DEFAULT_GOVERNANCE_PARAMS,
): Outcome | null {
  const r = ratios(params);
  const c = count(snapshot, votes);
  const remaining = c.total - castOf(c);
  const nobody = decide(c, r);
  for (const option of VOTE_OPTIONS) {
    if (decide({ ...c, [option]: c[option] + remaining }, r) !== nobody) return null;
  }
  return nobody;
}

/**
 * Resolves delegations into a power snapshot. Each delegator's balance moves, once, to the
 * end of its delegation chain: the first address on the chain that does not itself delegate
 * (A->B->C credits C, never B and C twice). If the chain loops back (A->B->A, or A->B->C->B)
 * no governor can be found and the delegator keeps its own power. Self-delegation is none.
 * Delegatees need no balance of their own. Zero-power addresses are left out; keys are sorted
 * so the snapshot is the same whatever order the inputs came in.
 */
export function resolveDelegations(
  balances: Record<string, string>,
  delegations: Record<string, string>,
): PowerSnapshot {
  const has = (obj: Record<string, string>, key: string) => Object.prototype.hasOwnProperty.call(obj, key);
  const delegatesTo = (addr: string): string | undefined => {
    const to = has(delegations, addr) ? delegations[addr] : undefined;
    return to === undefined || to === addr ? undefined : to;
  };
  const governorOf = (start: string): string => {
    const visited = new Set<string>([start]);
    let current = start;
    for (let next = delegatesTo(current); next !== undefined; next = delegatesTo(current)) {
      if (visited.has(next)) return start; // cycle: delegation ignored
      visited.add(next);
      current = next;
    }
    return current;
  };

  const result = new Map<string, bigint>();
  for (const [addr, value] of Object.entries(balances)) {
    const amount = power(value, addr);
    if (amount === 0n) continue;
    const governor = governorOf(addr);
    result.set(governor, (result.get(governor) ?? 0n) + amount);
  }
  const snapshot: PowerSnapshot = {};
  for (const addr of [...result.keys()].sort()) snapshot[addr] = result.get(addr)!.toString();
  return snapshot;
}

export type VoteValidation = { ok: true } | { ok: false; reason: string };

/** Validator for the vote Update: refuses before anything is written to workflow history. */
export function validateVote(input: {
  snapshot: PowerSnapshot;
  votes: Record<string, VoteOption>;
  voter: string;
  option: unknown;
  closed: boolean;
}): VoteValidation {
  const { snapshot, votes, voter, option, closed } = input;
  if (closed) return { ok: false, reason: 'voting is closed' };
  if (!isVoteOption(option)) {
    return {
      ok: false,
      reason: `unknown vote option ${JSON.stringify(option)}: expected one of ${VOTE_OPTIONS.join(', ')}`,
    };
  }
  const held = Object.prototype.hasOwnProperty.call(snapshot, voter) ? snapshot[voter] : undefined;
  if (held === undefined || !DECIMAL.test(held) || BigInt(held) === 0n) {
    return { ok: false, reason: `${voter} has no voting power in this proposal's snapshot` };
  }
  if (Object.prototype.hasOwnProperty.call(votes, voter)) {
    return { ok: false, reason: `${voter} has already voted (${votes[voter]})` };
  }
  return { ok: true };
}
