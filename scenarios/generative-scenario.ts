import OpenAI from 'openai';
import type { CommonsClient } from '../client/commons-client.js';
import { merge, type DeepPartial } from '../domain/lifecycle/params.js';
import type { LifecycleParams } from '../domain/lifecycle/types.js';
import type { ProposalResponse } from '../api/schemas/proposals.js';
import type { CommonsExtension } from '../api/schemas/openai.js';
import { HEALTH_KEYWORDS, syntheticQa, type QaRecord } from '../ml/generative/synthetic-qa.js';
import { defaultBudget, participant, REVIEWER_BOND, waitForStage } from './scenario.js';
import { answerReviews, retireGovernors, waitForDatanetOpen, waitForVotingOpen } from './steps.js';

/**
 * A generative model's lifecycle through the public API: a health assistant proposed with
 * `task: 'generation'`, chat records (question → answer) contributed by practitioners, the
 * embedded RAG model trained on them, reviewers comparing two answers per prompt, and an app
 * calling the served model through the OpenAI-compatible endpoint with the official `openai` client.
 */
export const HEALTH_SPEC = {
  fields: [{ name: 'messages', type: 'messages' as const, required: true }],
  textField: 'messages',
  maxRecordBytes: 16_384,
};

export interface GenerativeScenarioOptions {
  baseUrl: string;
  log: (line: string) => void;
  proposalId: string;
  modelName: string;
  /** Records per topic (8 topics). */
  perTopic: number;
  contributors: number;
  params?: DeepPartial<LifecycleParams>;
  /** The treasury budget the proposal asks for; default: the reward pool plus 1000 OPEN for review rewards. */
  budget?: string;
  pollMs?: number;
  /** Reuse a developer (the fee tests make the developer an app builder too). */
  developer?: CommonsClient;
}

export interface GenerativeScenarioResult {
  developer: CommonsClient;
  contributors: CommonsClient[];
  reviewers: CommonsClient[];
  appBuilder: CommonsClient;
  apiKey: string;
  corpus: QaRecord[];
  final: ProposalResponse;
  question: string;
  completion: OpenAI.Chat.Completions.ChatCompletion & { commons: CommonsExtension };
  streamed: { text: string; chunks: number; commons?: CommonsExtension };
}

export const GENERATIVE_PARAMS: DeepPartial<LifecycleParams> = {
  governance: { votingPeriodMs: 60_000 },
  collection: {
    windowMs: 60_000,
    pollIntervalMs: 300,
    batchSize: 50,
    parallelism: 2,
    minAcceptedRecords: 40,
    keywords: HEALTH_KEYWORDS,
  },
  training: { hyperparams: { epochs: 5, learningRate: 0.5, batchSize: 16 }, evalFraction: 0.2 },
  rlhf: { rounds: 1, promptsPerRound: 10, answersPerItem: 3, roundDeadlineMs: 60_000, learningRate: 0.5, epochs: 3 },
  // Generation metrics: accuracy = mean token-F1, macroF1 = mean ROUGE-L against held-out answers.
  deployment: { minAccuracy: 0.3, minMacroF1: 0.2 },
  serving: { feePerCall: '10' },
};

/** What `npm run demo -- --generative` asks for (and CI runs): a reward pool paid to practitioners. */
export const GENERATIVE_DEMO_PARAMS: DeepPartial<LifecycleParams> = {
  serving: { feePerCall: '10', rewardPool: '1000' },
};

export async function runGenerativeScenario(o: GenerativeScenarioOptions): Promise<GenerativeScenarioResult> {
  const { baseUrl, log } = o;
  const pollMs = o.pollMs ?? 500;
  log('participants: a developer, governors, practitioners contributing answers, reviewers, an app builder');
  const developer = o.developer ?? (await participant(baseUrl, ['developer'], 'developer', { OPEN: '5000' }));
  const governors = await Promise.all(
    [1, 2, 3].map((i) => participant(baseUrl, ['governor'], `governor-${i}`, { gOPEN: String(100 * i) })),
  );
  const contributors = await Promise.all(
    Array.from({ length: o.contributors }, (_, i) => participant(baseUrl, ['contributor'], `practitioner-${i + 1}`)),
  );
  // Reviewing takes a bond (slashable): reviewers bond it, a validator's stake counts as one.
  const reviewers = await Promise.all(
    [1, 2].map((i) => participant(baseUrl, ['reviewer'], `reviewer-${i}`, { OPEN: '20000' })),
  );
  for (const r of reviewers) await r.bondForReview(REVIEWER_BOND);
  const validator = await participant(baseUrl, ['validator'], 'validator-1', { OPEN: '20000' });
  await validator.stakeAsValidator(REVIEWER_BOND);
  reviewers.push(validator);
  const appBuilder = await participant(baseUrl, ['app-builder'], 'app-builder', { OPEN: '1000' });
  await developer.faucet('OPEN', '100000', 'treasury');

  const corpus = syntheticQa({ perTopic: o.perTopic, seed: 4 });
  log(`developer proposes the generative model "${o.modelName}" (task: generation, chat records)`);
  await developer.propose({
    id: o.proposalId,
    modelName: o.modelName,
    task: 'generation',
    title: 'Community health assistant',
    description:
      'Answers everyday health questions from answers written by verified practitioners: retrieval over their answers with a ranker refined by reviewers.',
    rationale: 'An assistant whose every answer is traceable to, and pays, the practitioners who wrote it.',
    domain: 'health assistant',
    labels: [],
    datanetSpec: HEALTH_SPEC,
    params: merge(merge(GENERATIVE_PARAMS, { collection: { targetCount: corpus.length } }), o.params ?? {}),
    budget: o.budget ?? defaultBudget(o.params ?? {}),
  });

  // Rounds assign tasks among the bonded reviewers who enlisted for this proposal.
  for (const r of reviewers) await r.enlistForReview(o.proposalId);
  await waitForStage(developer, o.proposalId, 'governance', log, pollMs);
  await waitForVotingOpen(developer, o.proposalId);
  for (const g of governors) await g.vote(o.proposalId, 'yes');
  log('governors voted yes');

  await waitForStage(developer, o.proposalId, 'data-collection', log, pollMs);
  await retireGovernors(governors);
  await waitForDatanetOpen(developer, o.proposalId);
  let stored = 0;
  await Promise.all(
    contributors.map(async (c, i) => {
      const mine = corpus.filter((_, j) => j % contributors.length === i);
      const r = await c.contributeBatch(
        o.proposalId,
        mine.map((x) => ({
          messages: [
            { role: 'user', content: x.question },
            { role: 'assistant', content: x.answer },
          ],
        })),
      );
      stored += r.results.filter((x) => x.hash !== undefined).length;
    }),
  );
  log(`practitioners contributed ${stored} chat records`);
  await developer.closeDatanet(o.proposalId).catch((err) => {
    if ((err as { status?: number }).status !== 409) throw err;
  });

  // Reviewers know the field: of two answers they prefer one on the question's topic, then a specific
  // one over a vague one; when both are as good, they keep the model's first choice.
  const topicOfQuestion = new Map(corpus.map((x) => [x.question, x.topic]));
  const byAnswer = new Map(corpus.map((x) => [x.answer, x]));
  const merit = (prompt: string, answer: string) => {
    const a = byAnswer.get(answer);
    if (!a) return 0;
    return (a.topic === topicOfQuestion.get(prompt) ? 2 : 0) + (a.vague ? 0 : 1);
  };

  await waitForStage(developer, o.proposalId, 'rlhf', log, pollMs);
  const answers = await answerReviews(
    developer,
    o.proposalId,
    reviewers,
    (_r, t) => {
      const [a, b] = t.candidates;
      if (a === undefined || b === undefined) return undefined;
      return merit(t.prompt, b) > merit(t.prompt, a) ? b : a;
    },
    pollMs,
  );
  log(`reviewers compared ${answers} answer pairs`);

  const final = await waitForStage(developer, o.proposalId, 'done', log, pollMs);
  if (final.status !== 'serving') throw new Error(`lifecycle ended ${final.status}: ${final.reason}`);
  const trainedMetrics = final.lifecycle?.training.metrics;
  if (trainedMetrics)
    log(
      `trained RAG model: held-out token-F1 ${trainedMetrics.accuracy.toFixed(3)}, ROUGE-L ${trainedMetrics.macroF1.toFixed(3)} on ${trainedMetrics.examples} answers`,
    );
  for (const round of final.lifecycle?.rlhf.rounds ?? [])
    log(
      `review round ${round.round}: ${round.answers} pairwise answers, update ${round.applied ? 'kept' : 'discarded'} (token-F1 ${round.metrics.accuracy.toFixed(3)})`,
    );
  const { apiKey } = await appBuilder.issueApiKey('agent');

  // An agent framework's view: the official OpenAI client, pointed at Commons.
  const openai = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey });
  const question = 'How can I treat a sprained ankle at home?';
  const completion = (await openai.chat.completions.create({
    model: o.modelName,
    messages: [{ role: 'user', content: question }],
  })) as OpenAI.Chat.Completions.ChatCompletion & { commons: CommonsExtension };
  log(`chat completion: "${question}" → "${completion.choices[0]?.message.content?.slice(0, 120)}…"`);
  log(
    `  fee ${completion.commons.fee} OPEN, attributed to ${completion.commons.attribution.contributors
      .map((c) => `${c.contributor.slice(0, 10)}… ${(c.weight * 100).toFixed(1)}%`)
      .join(', ')}`,
  );
  const stream = await openai.chat.completions.create({
    model: o.modelName,
    messages: [{ role: 'user', content: 'What helps with heartburn?' }],
    stream: true,
  });
  const streamed: GenerativeScenarioResult['streamed'] = { text: '', chunks: 0 };
  for await (const chunk of stream) {
    streamed.chunks++;
    streamed.text += chunk.choices[0]?.delta.content ?? '';
    const ext = (chunk as unknown as { commons?: CommonsExtension }).commons;
    if (ext) streamed.commons = ext;
  }
  log(`streamed completion (${streamed.chunks} chunks): "${streamed.text.slice(0, 100)}…"`);
  return {
    developer,
    contributors,
    reviewers,
    appBuilder,
    apiKey,
    corpus,
    final,
    question,
    completion,
    streamed,
  };
}
