/**
 * npm run sim:incentives — expected earnings per strategy under the incentive rules (see
 * bench/incentives-sim.ts for the model). SIM_ROUNDS (100) and SIM_SEED (2026) override the defaults.
 */
import { DEFAULT_SIM, formatTable, simulateIncentives } from './incentives-sim.js';

const rounds = Number(process.env.SIM_ROUNDS ?? DEFAULT_SIM.rounds);
const seed = Number(process.env.SIM_SEED ?? DEFAULT_SIM.seed);
const t0 = Date.now();
const rows = simulateIncentives({ rounds, seed });
console.log(formatTable(rows, rounds));
console.log(
  `\nReviewers: 1,000 OPEN bonded per entity; ${DEFAULT_SIM.items} review items + ${DEFAULT_SIM.gold} gold a round, 5 answers an item.` +
    `\nContributors: pool ${DEFAULT_SIM.pool} OPEN a round, deposit ${DEFAULT_SIM.deposit} OPEN a record; "old rule" = the former sqrt-per-account rule on the same statuses, no deposits.` +
    `\n(${rounds} rounds, seed ${seed}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`,
);
