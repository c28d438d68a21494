import { generateKeyPair, type KeyPair } from '../identity/keys.js';
import { CommonsClient } from '../client/commons-client.js';
import { loadSpamAssassin, type CorpusRecord } from '../ml/embedded/corpus.js';
import { merge, type DeepPartial } from '../domain/lifecycle/params.js';
import { contentHash } from '../domain/data/content-hash.js';
import { mulberry32 } from '../domain/prng.js';
import { buildDomainProfile } from '../domain/data/relevance.js';
import { scoreRecord } from '../domain/data/score-record.js';
import { STAGES, type LifecycleParams, type Stage } from '../domain/lifecycle/types.js';
import type { ProposalResponse } from '../api/schemas/proposals.js';
import type { InferResponse } from '../api/schemas/models.js';
import { trainingHeartbeat } from '../cli/progress-bar.js';
import { answerReviews, retireGovernors, waitForDatanetOpen, waitForVotingOpen } from './steps.js';

/**
 * One model lifecycle driven through the public API by simulated participants: a developer, three
 * governors, contributors sharing the SpamAssassin corpus (plus a near-copy and an off-topic
 * record), reviewers and a staked validator, and an app builder paying for inference. The demo
 * prints it; the end-to-end test asserts on what it leaves in Postgres, S3 and Temporal.
 */
export interface ScenarioOptions {
  baseUrl: string;
  log: (line: string) => void;
  proposalId: string;
  modelName: string;
  records: number;
  /** The records contributed (default: `records` mails of the SpamAssassin corpus). */
  corpus?: CorpusRecord[];
  /** The Datanet's spec (default SPAM_SPEC); e.g. SPAM_SPEC with a visibility for a private Datanet. */
  datanetSpec?: typeof SPAM_SPEC & Record<string, unknown>;
  contributors: number;
  params: DeepPartial<LifecycleParams>;
  /**
   * The treasury budget the proposal asks for (review rewards and the reward pool are paid from
   * it); default: the reward pool plus 1000 OPEN for review rewards.
   */
  budget?: string;
  /** Reviewer behaviour: honest reviewers pick the true label; a random one answers by coin flip. */
  randomReviewer?: boolean;
  /** A bonded, enlisted reviewer who never answers: its assigned tasks hold each round open to its deadline. */
  idleReviewer?: boolean;
  pollMs?: number;
  /**
   * How long voting may take to open (default 60 s). The fault run kills the lifecycle worker in
   * governance: a lifecycle activity running on it then retries only after its 1-minute
   * start-to-close timeout, so voting opens a minute or more late there, as designed.
   */
  votingOpenTimeoutMs?: number;
  /** Reuse a developer (a new version of a model the developer already serves). */
  developer?: CommonsClient;
  /** How participants' clients are made (the fault tests use one that retries through outages). */
  client?: (baseUrl: string, keys: KeyPair) => CommonsClient;
}

export interface ScenarioResult {
  proposalId: string;
  modelName: string;
  developer: CommonsClient;
  governors: CommonsClient[];
  contributors: CommonsClient[];
  reviewers: CommonsClient[];
  randomReviewer?: CommonsClient;
  appBuilder: CommonsClient;
  apiKey: string;
  submitted: { hash: string; contributor: string; label: string; status: string }[];
  nearCopy: { hash: string; of: string };
  offTopic: { hash: string };
  final: ProposalResponse;
  inference: InferResponse;
}

export const SPAM_SPEC = {
  fields: [
    { name: 'text', type: 'string' as const, required: true, minLength: 1, maxLength: 20_000 },
    { name: 'label', type: 'enum' as const, required: true, values: ['spam', 'ham'] },
  ],
  textField: 'text',
  labelField: 'label',
  maxRecordBytes: 32_768,
};

/** The domain vocabulary the proposer declares: relevance scoring compares records against it. */
export const EMAIL_KEYWORDS =
  'email mail message subject sender list unsubscribe click free offer money order please thanks regards attached meeting reply wrote http www address'.split(
    ' ',
  );

const OFF_TOPIC =
  'Preheat the oven to 180 degrees. Whisk two eggs with sugar and butter, fold in the flour, and bake the sponge cake for thirty minutes until golden.';

/**
 * Parameters for a simulated lifecycle that finishes in seconds: short windows and deadlines, few
 * epochs, one small review round. runScenario merges the caller's params over these and sets the
 * target count to what the scenario submits, so callers state only what their scenario is about.
 */
export const SCENARIO_PARAMS: DeepPartial<LifecycleParams> = {
  governance: { votingPeriodMs: 60_000 },
  collection: {
    windowMs: 60_000,
    pollIntervalMs: 300,
    batchSize: 100,
    parallelism: 2,
    minAcceptedRecords: 50,
    keywords: EMAIL_KEYWORDS,
  },
  training: { hyperparams: { epochs: 8 } },
  rlhf: { rounds: 1, promptsPerRound: 4, answersPerItem: 3, roundDeadlineMs: 60_000 },
};

/**
 * What `npm run demo` asks for (and CI runs): windows long enough to watch, a reward pool paid to
 * contributors, an inference fee.
 */
export const DEMO_PARAMS: DeepPartial<LifecycleParams> = {
  stake: '1000',
  governance: { votingPeriodMs: 120_000 },
  collection: { windowMs: 120_000, pollIntervalMs: 500, batchSize: 250 },
  training: { hyperparams: { epochs: 10, checkpointEvery: 40 }, heartbeatTimeoutMs: 30_000 },
  rlhf: { promptsPerRound: 8, roundDeadlineMs: 120_000 },
  serving: { feePerCall: '10', rewardPool: '1000' },
};

/**
 * The treasury budget a simulated proposal asks for when its caller names none: the reward pool
 * plus 1000 OPEN for review rewards (both are paid from it).
 */
export function defaultBudget(params: DeepPartial<LifecycleParams>): string {
  return (BigInt(params.serving?.rewardPool ?? '0') + 1000n).toString();
}

/** Bonds of the simulated reviewers (OPEN base units): honest ones bond more than the random one. */
export const REVIEWER_BOND = '10000';
export const RANDOM_REVIEWER_BOND = '2000';

export async function participant(
  baseUrl: string,
  roles: string[],
  name: string,
  funds: { OPEN?: string; gOPEN?: string } = {},
  client: (baseUrl: string, keys: KeyPair) => CommonsClient = (u, k) => new CommonsClient(u, k),
): Promise<CommonsClient> {
  const c = client(baseUrl, generateKeyPair());
  await c.register(roles, name);
  if (funds.OPEN) await c.faucet('OPEN', funds.OPEN);
  if (funds.gOPEN) await c.faucet('gOPEN', funds.gOPEN);
  return c;
}

export async function waitForStage(
  client: CommonsClient,
  id: string,
  stage: Stage | 'done',
  log: (l: string) => void,
  pollMs = 500,
  timeoutMs = 10 * 60_000,
): Promise<ProposalResponse> {
  const order: (Stage | 'done')[] = [...STAGES, 'done'];
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const s = await client.proposal(id);
    const line = progressLine(s);
    if (line !== last) log(line);
    last = line;
    // Reached (or already past) the stage: a lifecycle that ended serving has passed every stage.
    if (stage === 'done' ? s.status !== 'running' : order.findIndex((x) => x === s.stage) >= order.indexOf(stage))
      return s;
    if (s.status !== 'running') throw new Error(`lifecycle ended in ${s.stage} with status ${s.status}: ${s.reason}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${stage}; last: ${line}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** One line of what the lifecycle is doing, with live progress (heartbeats, counts). */
export function progressLine(s: ProposalResponse): string {
  const p = s.progress ?? {};
  let extra = '';
  if (p.collection)
    extra = ` — ${p.collection.phase}: ${p.collection.received}/${p.collection.targetCount} received, ${p.collection.scored} scored, ${p.collection.accepted} passing`;
  if (p.round)
    extra = ` — round ${p.round.round}: ${p.round.tasks.filter((t) => t.answers >= t.required).length}/${p.round.tasks.length} tasks answered`;
  const hb = trainingHeartbeat(s);
  if (hb)
    extra += ` — ${hb.activity} step ${hb.step}/${hb.totalSteps}, loss ${Number(hb.loss).toFixed(4)}${hb.attempt > 1 ? ` (attempt ${hb.attempt})` : ''}`;
  const g = s.lifecycle?.governance?.tally;
  if (s.stage === 'governance' && g)
    extra += ` — yes ${g.yes} no ${g.no} abstain ${g.abstain} veto ${g.veto} of ${g.total}`;
  return `[${s.stage}] ${s.status}${s.reason ? ` (${s.reason})` : ''}${extra}`;
}

export async function runScenario(o: ScenarioOptions): Promise<ScenarioResult> {
  const { baseUrl, log } = o;
  const pollMs = o.pollMs ?? 500;
  log('participants: registering keys and funding them from the dev faucet');
  const developer = o.developer ?? (await participant(baseUrl, ['developer'], 'developer', { OPEN: '5000' }, o.client));
  const governors = await Promise.all(
    [1, 2, 3].map((i) => participant(baseUrl, ['governor'], `governor-${i}`, { gOPEN: String(100 * i) }, o.client)),
  );
  const contributors = await Promise.all(
    Array.from({ length: o.contributors }, (_, i) =>
      participant(baseUrl, ['contributor'], `contributor-${i + 1}`, {}, o.client),
    ),
  );
  // Review weight is bonded stake: each reviewer bonds at least the protocol minimum (1000 by default).
  const reviewers = await Promise.all(
    [1, 2].map(async (i) => {
      const r = await participant(baseUrl, ['reviewer'], `reviewer-${i}`, { OPEN: '20000' }, o.client);
      await r.bondForReview(REVIEWER_BOND);
      return r;
    }),
  );
  const validator = await participant(baseUrl, ['validator'], 'validator-1', { OPEN: '20000' }, o.client);
  await validator.stakeAsValidator(REVIEWER_BOND);
  reviewers.push(validator);
  let randomReviewer: CommonsClient | undefined;
  if (o.randomReviewer) {
    randomReviewer = await participant(baseUrl, ['validator'], 'random-validator', { OPEN: '5000' }, o.client);
    await randomReviewer.stakeAsValidator(RANDOM_REVIEWER_BOND);
  }
  const appBuilder = await participant(baseUrl, ['app-builder'], 'app-builder', { OPEN: '1000' }, o.client);
  // The treasury funds the proposal's budget, out of which review rewards and the contributor
  // reward pool are paid (a genesis allocation).
  await developer.faucet('OPEN', '100000', 'treasury');

  log(`developer ${developer.address} proposes "${o.modelName}" and stakes`);
  const created = await developer.propose({
    id: o.proposalId,
    modelName: o.modelName,
    title: 'Community spam filter',
    description:
      'A spam classifier for email, trained on mail contributed by the community. Linear model over word and character n-grams; labels spam and ham.',
    rationale: 'Open spam filtering that anyone can audit and improve, paying the people whose mail taught it.',
    domain: 'email spam',
    labels: ['spam', 'ham'],
    datanetSpec: o.datanetSpec ?? SPAM_SPEC,
    // The records, a near-copy and an off-topic record.
    params: merge(merge(SCENARIO_PARAMS, { collection: { targetCount: o.records + 2 } }), o.params),
    budget: o.budget ?? defaultBudget(o.params),
  });
  log(`lifecycle started: workflow ${created.workflowId}`);
  // Review rounds draw their assignments among the bonded reviewers who enlisted for the proposal.
  const enlisted = [...reviewers, ...(randomReviewer ? [randomReviewer] : [])];
  if (o.idleReviewer) {
    const idle = await participant(baseUrl, ['reviewer'], 'idle-reviewer', { OPEN: '5000' }, o.client);
    await idle.bondForReview(RANDOM_REVIEWER_BOND);
    enlisted.push(idle);
  }
  for (const r of enlisted) await r.enlistForReview(o.proposalId);

  await waitForStage(developer, o.proposalId, 'governance', log, pollMs);
  await waitForVotingOpen(developer, o.proposalId, o.votingOpenTimeoutMs);
  const votes = ['yes', 'abstain', 'yes'] as const;
  for (const [i, option] of votes.entries()) {
    const g = governors[i];
    if (!g) throw new Error(`no governor ${i + 1}`);
    const r = await g.vote(o.proposalId, option);
    log(`governor-${i + 1} votes ${option}: tally yes ${r.tally.yes} / abstain ${r.tally.abstain} of ${r.tally.total}`);
  }

  await waitForStage(developer, o.proposalId, 'data-collection', log, pollMs);
  await retireGovernors(governors);
  await waitForDatanetOpen(developer, o.proposalId);
  const corpus = o.corpus ?? loadSpamAssassin({ limit: o.records, seed: 11 });
  const byText = new Map<string, CorpusRecord>(corpus.map((r) => [r.text, r]));
  const submitted: ScenarioResult['submitted'] = [];
  const shares = contributors.map((c, i) => ({ c, records: corpus.filter((_, j) => j % contributors.length === i) }));
  await Promise.all(
    shares.map(async ({ c, records }) => {
      for (let k = 0; k < records.length; k += 200) {
        const chunk = records.slice(k, k + 200);
        const r = await c.contributeBatch(
          o.proposalId,
          chunk.map((x) => ({ text: x.text, label: x.label })),
        );
        for (const x of r.results) {
          const record = chunk[x.index];
          // Records refused at ingest (schema, size) have no hash and are not part of the Datanet.
          if (x.hash === undefined || !record) log(`record refused at ingest: ${x.status} ${x.errors?.join('; ')}`);
          else submitted.push({ hash: x.hash, contributor: c.address, label: record.label, status: x.status });
        }
      }
    }),
  );
  // A second account re-submits the first contributor's mail with two words changed: it must earn nothing.
  // The copier picks a record that will clearly pass scoring (long, on-topic), as a real one would.
  const profile = buildDomainProfile({
    domain: 'email spam',
    description: '',
    keywords: EMAIL_KEYWORDS,
    labels: ['spam', 'ham'],
  });
  const second = contributors[1];
  const firstShare = shares[0]?.records ?? [];
  if (!second || !firstShare.length) throw new Error('the scenario needs two contributors with records');
  const originalText =
    firstShare.find(
      (x) =>
        x.text.split(' ').length > 80 &&
        scoreRecord(SPAM_SPEC, profile, { text: x.text, label: x.label }, { minQuality: 0.6, minRelevance: 0.6 })
          .status === 'accepted',
    ) ?? firstShare[0];
  if (!originalText) throw new Error('no record to copy');
  const words = originalText.text.split(' ');
  words[5] = 'definitely';
  words[words.length - 3] = 'regards';
  const nearCopyRes = await second.contribute(o.proposalId, {
    text: words.join(' '),
    label: originalText.label,
  });
  const originalHash = contentHash({ text: originalText.text, label: originalText.label }).hash;
  const offTopicRes = await second.contribute(o.proposalId, { text: OFF_TOPIC, label: 'ham' });
  log(`contributors submitted ${submitted.length} records, a near-copy and an off-topic record`);
  // Exact copies are refused at ingest, so the target may never be reached: the proposer closes the window.
  await developer.closeDatanet(o.proposalId).catch((err) => {
    if ((err as { status?: number }).status !== 409) throw err; // already closed by reaching the target
  });

  await waitForStage(developer, o.proposalId, 'rlhf', log, pollMs);
  const coin = mulberry32(99); // the random reviewer's coin: seeded, so a run is reproducible
  const answers = await answerReviews(
    developer,
    o.proposalId,
    randomReviewer ? [...reviewers, randomReviewer] : reviewers,
    (r, t) => {
      if (r === randomReviewer) return t.candidates[Math.floor(coin() * t.candidates.length)];
      const truth = byText.get(t.prompt)?.label;
      return truth && t.candidates.includes(truth) ? truth : t.candidates[0];
    },
    pollMs,
  );
  log(`reviewers answered ${answers} review tasks`);

  const final = await waitForStage(developer, o.proposalId, 'done', log, pollMs);
  if (final.status !== 'serving') throw new Error(`lifecycle ended ${final.status}: ${final.reason}`);
  const { apiKey } = await appBuilder.issueApiKey('demo');
  const sample = corpus.find((x) => x.label === 'spam');
  if (!sample) throw new Error('the corpus has no spam record');
  const inference = await appBuilder.infer(o.modelName, sample.text.slice(0, 400), apiKey);
  log(
    `inference: "${sample.text.slice(0, 60)}…" → ${inference.output} (version ${inference.version}); attributed to ${inference.attribution.contributors.map((c) => `${c.contributor.slice(0, 10)}… ${(c.weight * 100).toFixed(1)}%`).join(', ')}`,
  );
  return {
    proposalId: o.proposalId,
    modelName: o.modelName,
    developer,
    governors,
    contributors,
    reviewers,
    randomReviewer,
    appBuilder,
    apiKey,
    submitted,
    nearCopy: { hash: nearCopyRes.hash, of: originalHash },
    offTopic: { hash: offTopicRes.hash },
    final,
    inference,
  };
}
