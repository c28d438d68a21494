// `npm run test:faults`: lifecycles on the local stack while workers, the API, the Temporal server
// (dev or real, COMMONS_TEMPORAL), Postgres and S3 fail under them, at seeded random moments; then
// the same checks a fault-free run passes. Prints the fault matrix (fault × stage → outcome); exits 1 on any failure.
import postgres from 'postgres';
import { startSystem } from '../../infra/local/system.js';
import { Ledger } from '../../db/ledger.js';
import { mulberry32 } from '../../domain/prng.js';
import { runScenario, waitForStage } from '../../scenarios/scenario.js';
import { loadSpamAssassin } from '../../ml/embedded/corpus.js';
import { generateKeyPair } from '../../identity/keys.js';
import { accountsOf } from '../../contracts/accounts.js';
import { proposalBody } from '../support/participants.js';
import { ResilientClient, retryLog } from './resilient-client.js';

const SEED = Number(process.env.FAULT_SEED ?? 13);
const rand = mulberry32(SEED);
const jitter = (maxMs: number) => Math.floor(rand() * maxMs);
const t0 = Date.now();
const log = (m: string) => console.log(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s  ${m}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface MatrixRow {
  fault: string;
  stage: string;
  at: number;
  outcome?: string;
}
const matrix: MatrixRow[] = [];
const injected = (fault: string, stage: string) => {
  const row: MatrixRow = { fault, stage, at: (Date.now() - t0) / 1000 };
  matrix.push(row);
  log(`FAULT ${fault} during ${stage}`);
  return row;
};

// ---------- the stack, each service restartable on its own port and state ----------

const system = await startSystem({
  log,
  workerProcesses: ['lifecycle', 'data-collection', 'gpu-training', 'gpu-rlhf'],
  api: 'process',
  env: { COMMONS_LOG_LEVEL: 'ERROR' },
});
const services = system.stack!.services;
// COMMONS_TEMPORAL=server runs the same faults on the real server (its state in the Postgres restarted above).
const temporalName = system.stack!.temporalFlavour === 'server' ? 'server' : 'dev server';
const api = system.processes.api!;
const workers = {
  lifecycle: system.processes.workers.lifecycle!,
  data: system.processes.workers['data-collection']!,
  training: system.processes.workers['gpu-training']!,
  rlhf: system.processes.workers['gpu-rlhf']!,
};
const base = system.apiUrl;
const client = () => new ResilientClient(base, generateKeyPair());
const failures: string[] = [];
const check = (ok: boolean, what: string) => {
  log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

let exitCode = 0;
try {
  log(`stack, four worker processes and the API up (seed ${SEED})`);

  // ---------- L2: a lifecycle that stays in data collection while a contributor streams records ----------
  const dev2 = client();
  await dev2.register(['developer']);
  await dev2.faucet('OPEN', '10000');
  const gov2 = client();
  await gov2.register(['governor']);
  await gov2.faucet('gOPEN', '1000000000');
  const l2 = 'faults-stream';
  await dev2.propose(
    proposalBody(l2, {
      governance: { votingPeriodMs: 60_000 },
      collection: { windowMs: 600_000, pollIntervalMs: 300, minAcceptedRecords: 100_000 },
    }),
  );
  while (!(await dev2.tally(l2).catch(() => ({ open: false }))).open) await sleep(200);
  await gov2.vote(l2, 'yes');
  await gov2.transfer(dev2.address, 'gOPEN', '1000000000'); // so it never weighs on L1's quorum
  await waitForStage(dev2, l2, 'data-collection', () => {});
  for (;;) {
    if ((await dev2.datanet(l2).catch(() => undefined))?.status === 'open') break;
    await sleep(200);
  }
  // Single signed contributions, one after another; the API is SIGKILLed after a seeded number.
  const contributor = client();
  await contributor.register(['contributor']);
  const stream = loadSpamAssassin({ limit: 60, seed: 29 });
  const killApiAfter = 15 + jitter(30);
  const created = new Set<string>(); // every hash answered 201
  for (const [i, r] of stream.entries()) {
    if (i === killApiAfter) {
      // A few ms into the next request, so the kill can land while the API is handling it.
      const delay = jitter(40);
      setTimeout(() => {
        injected('SIGKILL API', 'data-collection (single contributions)');
        void api.kill9AndRestart().catch((err: unknown) => failures.push(`API restart failed: ${String(err)}`));
      }, delay);
    }
    const res = await contributor.contribute(l2, { text: r.text, label: r.label }).catch((e: Error) => ({ error: e }));
    if ('hash' in res && res.status === 'stored') created.add(res.hash);
  }
  log(`L2: ${created.size} contributions answered 201 (stored) around an API SIGKILL`);
  await dev2.signed('POST', `/v1/datanets/${l2}/close`, {});

  // ---------- L1: the whole lifecycle, with faults at every stage ----------
  const l1 = 'faults-full';
  const watcher = client();
  const faultsDone = (async () => {
    while (!(await watcher.proposal(l1).catch(() => undefined))) await sleep(200); // not proposed yet
    // Each fault is recorded at the stage the lifecycle is really in when it lands: on a fast run a
    // stage can be over before its fault is due, and the matrix must say so rather than guess.
    const stageReached = async (stage: Parameters<typeof waitForStage>[2]) =>
      (await waitForStage(watcher, l1, stage, () => {}, 200, 15 * 60_000)).stage;
    const stageNow = async () => (await watcher.proposal(l1)).stage;
    await stageReached('governance');
    await sleep(jitter(1500));
    injected('SIGKILL lifecycle worker', await stageNow());
    await workers.lifecycle.kill9AndRestart();

    await stageReached('data-collection');
    // As soon as scoring starts (or whatever phase the collection has reached by then).
    let where: string;
    for (;;) {
      const s = (await watcher.proposal(l1)) as { stage: string; progress?: { collection?: { phase?: string } } };
      const phase = s.progress?.collection?.phase;
      where = s.stage === 'data-collection' ? `data-collection (${phase ?? 'window'})` : s.stage;
      if (phase === 'scoring' || phase === 'dedupe' || phase === 'done' || s.stage !== 'data-collection') break;
      await sleep(100);
    }
    injected('SIGKILL data-collection worker', where);
    await workers.data.kill9AndRestart();

    await stageReached('training');
    await sleep(jitter(1000));
    injected('S3 unavailable 30 s (versitygw stopped)', await stageNow());
    await services.s3!.stop();
    const s3Back = sleep(30_000).then(() => services.s3!.start());
    await sleep(2000 + jitter(2000));
    injected('SIGKILL gpu-training worker', await stageNow());
    await workers.training.kill9AndRestart();
    await s3Back;

    await stageReached('rlhf');
    await sleep(jitter(1000));
    injected('restart Postgres', await stageNow());
    await services.postgres!.stop();
    await services.postgres!.start();
    await sleep(jitter(1000));
    injected(`restart Temporal ${temporalName}`, await stageNow().catch(() => 'unknown (API unreachable)'));
    await services.temporal!.stop();
    await services.temporal!.start();
    await sleep(jitter(1000));
    injected('SIGKILL gpu-rlhf worker', await stageNow().catch(() => 'unknown (API unreachable)'));
    await workers.rlhf.kill9AndRestart();
  })().catch((err: unknown) => {
    // Reported as a failure, never an unhandled rejection (which would skip the cleanup below).
    failures.push(`fault injection stopped: ${String(err)}`);
  });
  const scenario = await runScenario({
    baseUrl: base,
    log: (l) => log(`L1 ${l}`),
    proposalId: l1,
    modelName: 'spam-faults',
    records: 150,
    contributors: 2,
    pollMs: 300,
    // The lifecycle worker is SIGKILLed in governance: an activity it was running is retried after
    // its 1-minute start-to-close timeout, so voting can open more than a minute late.
    votingOpenTimeoutMs: 5 * 60_000,
    idleReviewer: true,
    client: (u, k) => new ResilientClient(u, k),
    params: {
      stake: '1000',
      collection: { batchSize: 40, parallelism: 2, batchesPerRun: 2, minAcceptedRecords: 30 },
      // Long enough for the training faults to land while training runs on an idle machine.
      training: { hyperparams: { epochs: 1500, checkpointEvery: 100 }, heartbeatTimeoutMs: 5_000 },
      // An idle reviewer (bonded, enlisted, never answering) is assigned tasks it leaves open: the round
      // stays open until its deadline, so the RLHF faults land inside it.
      rlhf: { roundDeadlineMs: 20_000, answersPerItem: 4, extraReviewers: 0 },
      deployment: { minAccuracy: 0, minMacroF1: 0 },
      serving: { feePerCall: '10', rewardPool: '1000' },
    },
  });
  await faultsDone;

  // ---------- paid inference with the API SIGKILLed in the middle ----------
  const answered: string[] = [];
  let inferKill: MatrixRow | undefined;
  const killInferAfter = 5 + jitter(10);
  for (let i = 0; i < 25; i++) {
    if (i === killInferAfter) {
      inferKill = injected('SIGKILL API', 'serving (paid inference)');
      await api.kill9AndRestart();
    }
    const r = await scenario.appBuilder.infer('spam-faults', `free money offer number ${i}`, scenario.apiKey);
    answered.push(r.callId);
  }

  // ---------- the checks a fault-free run passes ----------
  const sql = postgres(system.cfg.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    const ledger = new Ledger(sql);
    const f1 = await dev2.proposal(l1);
    check(f1.status === 'serving', `L1 ended serving (${f1.status}: ${f1.reason})`);
    const history = (f1 as { lifecycle?: { history?: { stage: string }[] } }).lifecycle?.history ?? [];
    const stages = history.map((h) => h.stage).join(',');
    check(
      stages === 'proposed,governance,data-collection,training,rlhf,deployment,serving',
      `L1 went through every stage once, in order (${stages})`,
    );
    const [mv] = await sql`select version, status from model_versions where model_name = 'spam-faults'`;
    check(mv?.version === 1 && mv?.status === 'production', 'L1 promoted exactly version 1 to production');
    const [dv] = await sql`select record_count from dataset_versions where datanet_id = ${l1}`;
    const [acc] =
      await sql`select count(*)::int as n from contributions where datanet_id = ${l1} and status = 'accepted'`;
    check(
      dv?.record_count === acc?.n && (acc?.n ?? 0) > 30,
      `L1 dataset holds every accepted record (${String(acc?.n)})`,
    );
    const f2 = await dev2.proposal(l2);
    check(f2.status === 'failed-gate', `L2 ended failed-gate, not enough data (${f2.status}: ${f2.reason})`);
    for (const id of [l1, l2]) {
      check((await ledger.balance(accountsOf.escrow(id), 'OPEN')) === '0', `${id}: escrow empty (released/refunded)`);
      check(
        (await ledger.balance(accountsOf.budget(id), 'OPEN')) === '0',
        `${id}: budget account empty (paid out or returned to the treasury)`,
      );
    }

    const stored = [...created, ...scenario.submitted.filter((s) => s.status === 'stored').map((s) => s.hash)];
    const found = await sql`select hash from contributions where hash = any(${stored}::text[])`;
    check(
      found.length === stored.length,
      `every contribution answered 201 is stored (${found.length}/${stored.length})`,
    );

    const rewards =
      await sql`select to_account, count(*)::int as n, sum(amount)::text as total from transfers where proposal_id = ${l1} and reason like 'data contribution reward%' group by to_account`;
    const pool = rewards.reduce((s, r) => s + BigInt(r.total as string), 0n);
    check(pool === 1000n, `the reward pool was paid exactly once in total (${pool} of 1000)`);
    check(
      rewards.every((r) => r.n === 1),
      'no contributor was paid the pool twice',
    );
    const reviewPaid =
      await sql`select idempotency_key from transfers where idempotency_key like 'review:%:reward' group by idempotency_key having count(*) > 1`;
    check(reviewPaid.length === 0, 'no review reward paid twice');
    const calls = await sql`select id, fee::text, settlement_id from inference_calls where model_name = 'spam-faults'`;
    const bySettlement = new Map<string, bigint>();
    for (const c of calls) {
      const sid = c.settlement_id as string;
      bySettlement.set(sid, (bySettlement.get(sid) ?? 0n) + BigInt(c.fee as string));
    }
    let feesOk = true;
    for (const [sid, fees] of bySettlement) {
      const [t] =
        await sql`select coalesce(sum(amount), 0)::text as paid from transfers where memo->>'settlement' = ${sid}`;
      if (BigInt((t?.paid as string | undefined) ?? '0') !== fees) feesOk = false;
    }
    check(feesOk, `every settlement paid exactly its calls' fees, once (${bySettlement.size} settlements)`);
    check(
      calls.every((c) => typeof c.settlement_id === 'string'),
      `every recorded paid call is settled (${calls.length} calls)`,
    );
    const recorded = new Set(calls.map((c) => c.id as string));
    const lost = answered.filter((id) => !recorded.has(id));
    // A paid call is answered only after its row and its charge commit together (group commit),
    // so a SIGKILL of the API loses no answered call's fee.
    check(
      lost.length === 0,
      `no fee charged twice and none lost: every paid call answered 200 is recorded and charged (${answered.length - lost.length}/${answered.length})`,
    );
    if (inferKill) inferKill.outcome = `no fee charged twice, none lost (${answered.length} answered, all charged)`;
    const inv = await ledger.checkInvariants();
    check(
      inv.problems.length === 0,
      `ledger invariants hold${inv.problems.length ? `: ${inv.problems.join('; ')}` : ''}`,
    );

    for (const row of matrix)
      row.outcome ??= failures.length === 0 ? 'recovered: final state as without faults' : 'see failures';
    console.log('\nfault matrix (seed ' + SEED + '):');
    console.table(
      matrix.map((r) => ({ fault: r.fault, stage: r.stage, 'at (s)': r.at.toFixed(1), outcome: r.outcome })),
    );
    console.log(`client retries through outages: ${retryLog.length} requests needed more than one attempt`);
  } finally {
    await sql.end();
  }
  if (failures.length) {
    exitCode = 1;
    console.error(`\n${failures.length} check(s) failed:\n- ${failures.join('\n- ')}`);
  }
} catch (err) {
  exitCode = 1;
  console.error(err);
} finally {
  await system.stop();
}
log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
process.exit(exitCode);
