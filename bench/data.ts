// `npm run bench:data`: ingests and scores BENCH_RECORDS (default 1,000,000) synthetic contributions
// against the local stack, with duplicates, near-duplicates and off-topic records mixed in. Prints
// contributions/s for ingest and for scoring, peak worker RSS and the largest workflow history.
// The API and the workers run in their own processes; this process is the contributors.
import { startBenchStack } from './support/stack.js';
import { SPAM_SPEC } from '../scenarios/scenario.js';
import { syntheticRecords } from '../scenarios/synthetic.js';
import { peakRssMiB } from '../infra/local/processes.js';
import { workflowIds } from '../contracts/workflow-ids.js';
import { lshDatanetKey } from '../db/queries/lsh-bands.js';
import { findPassProgress } from '../db/queries/contributions.js';
import { treeCpuSeconds } from './process-tree.js';

const N = Number(process.env.BENCH_RECORDS ?? 1_000_000);
const CONTRIBUTORS = Number(process.env.BENCH_CONTRIBUTORS ?? 100);
const BATCH = 1000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const t0 = Date.now();
const log = (m: string) => console.log(`[bench:data ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${m}`);

const bench = await startBenchStack({ log });
const { sql, temporal, participant } = bench;
const workerPid = bench.workerPids[0]!;
const dev = await participant(['developer'], { OPEN: '10000' });
const gov = await participant(['governor'], { gOPEN: '1000' });
const contributors = await Promise.all(Array.from({ length: CONTRIBUTORS }, () => participant(['contributor'])));
const id = `bench-data-${Date.now().toString(36)}`;
await dev.propose({
  id,
  modelName: id,
  title: 'Bench spam filter',
  description: 'Spam classifier for the data-collection benchmark.',
  rationale: 'benchmark',
  domain: 'email spam',
  labels: ['spam', 'ham'],
  datanetSpec: SPAM_SPEC,
  params: {
    governance: { votingPeriodMs: 600_000 },
    collection: {
      windowMs: 6 * 3_600_000,
      targetCount: N,
      pollIntervalMs: Number(process.env.BENCH_POLL_MS ?? 2000),
      batchSize: 2000,
      parallelism: 4,
      batchesPerRun: 40,
      minAcceptedRecords: 1,
      keywords: ['spam', 'email', 'offer', 'meeting', 'project'],
    },
    training: { hyperparams: { epochs: 1 } },
  },
});
for (;;) {
  const t = await dev.tally(id).catch(() => undefined);
  if (t?.open) break;
  await new Promise((r) => setTimeout(r, 200));
}
await gov.vote(id, 'yes');
while ((await dev.datanet(id).catch(() => undefined))?.status !== 'open') await new Promise((r) => setTimeout(r, 300));
log(
  `Datanet open; ingesting ${N} records from ${CONTRIBUTORS} contributors, ${BATCH} per signed batch, ${CONCURRENCY} requests in flight`,
);

const kinds: Record<string, number> = {};
const gen = syntheticRecords(N);
let batchNo = 0;
let sent = 0;
const ingestStart = Date.now();
const ingestMark = { n: 1, sent: 0, at: ingestStart };
const ingestMarks: string[] = [];
async function sender() {
  for (;;) {
    const payloads: { text: string; label: string }[] = [];
    for (let i = 0; i < BATCH; i++) {
      const n = gen.next();
      if (n.done) break;
      kinds[n.value.kind] = (kinds[n.value.kind] ?? 0) + 1;
      payloads.push({ text: n.value.text, label: n.value.label });
    }
    if (payloads.length === 0) return;
    const c = contributors[batchNo++ % contributors.length];
    if (!c) throw new Error('no contributors');
    await c.contributeBatch(id, payloads);
    sent += payloads.length;
    // A line at each 10% of the run with the rate since the previous line, so a rate that falls as
    // the tables grow shows where it falls.
    while (sent >= (ingestMark.n * N) / 10) {
      const now = Date.now();
      const rate = Math.round((sent - ingestMark.sent) / ((now - ingestMark.at) / 1000));
      ingestMarks.push(`${ingestMark.n * 10}% ${rate}/s`);
      log(
        `ingested ${sent} (${ingestMark.n * 10}%): ${rate}/s since the last line, ${Math.round(sent / ((now - ingestStart) / 1000))}/s overall, worker peak RSS ${peakRssMiB(workerPid).toFixed(0)} MiB`,
      );
      Object.assign(ingestMark, { n: ingestMark.n + 1, sent, at: now });
    }
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, sender));
const ingestSeconds = (Date.now() - ingestStart) / 1000;
const [stored = { n: 0 }] = await sql<
  { n: number }[]
>`select count(*)::int as n from contributions where datanet_id = ${id}`;
log(`ingest done: ${sent} sent, ${stored.n} stored in ${ingestSeconds.toFixed(1)} s`);

// Exact copies from other accounts are refused at ingest, so the target count is never reached:
// the proposer closes the window once everything is in.
await dev.closeDatanet(id);
const scoreStart = Date.now();
// Time per phase (scoring pass, dedupe pass, dataset build), and a line at each 10% of each pass
// with the rate since the previous line and the size of the band tables, so a cost that grows with the
// tables shows where it grows.
const phaseSeconds: Record<string, number> = {};
// CPU seconds each process kind under this one (workers, API, Postgres, S3, Temporal) used in each
// phase: on a shared machine the wall-clock rate depends on the load, CPU per record does not.
const phaseCpu: Record<string, Map<string, number>> = {};
let cpuAtPhaseStart = treeCpuSeconds();
// With COMMONS_PG_STATEMENTS=1 (pg_stat_statements loaded): the statements that took most of
// Postgres's time in each phase.
const statements = !!process.env.COMMONS_PG_STATEMENTS;
const phaseStatements: Record<string, string[]> = {};
if (statements) {
  await sql`create extension if not exists pg_stat_statements`;
  await sql`select pg_stat_statements_reset()`;
}
const topStatements = async () => {
  const rows = await sql<{ ms: number; calls: number; rows: number; query: string }[]>`
    select total_exec_time::float8 as ms, calls::int, rows::int, regexp_replace(query, '[[:space:]]+', ' ', 'g') as query
    from pg_stat_statements order by total_exec_time desc limit 12`;
  await sql`select pg_stat_statements_reset()`;
  return rows.map(
    (r) =>
      `${(r.ms / 1000).toFixed(1).padStart(7)} s ${String(r.calls).padStart(7)} calls ${String(r.rows).padStart(9)} rows  ${r.query.slice(0, 150)}`,
  );
};
const passMarks: Record<string, string[]> = {};
let phase = 'window';
let phaseStart = scoreStart;
let mark = { n: 1, done: 0, at: scoreStart };
let lastPoll = scoreStart;
// Dedupe progress: of the records that passed scoring, those the dedupe pass has decided (from the
// passes' per-batch rows: counting statuses would scan every contribution row at each poll).
const dedupeProgress = async () => {
  const p = await findPassProgress(sql, id);
  return { done: p?.deduped ?? 0, span: Math.max(1, p?.scoredPassing ?? 0) };
};
const bandBytes = async () => {
  const [r] = await sql<
    { bytes: string }[]
  >`select (pg_total_relation_size('lsh_band_claims') + pg_total_relation_size('lsh_band_owners'))::text as bytes`;
  return Number(r?.bytes ?? 0);
};
for (;;) {
  const s = await dev.proposal(id);
  const c = s.progress?.collection;
  const now = Date.now();
  const next =
    s.stage !== 'data-collection' || s.status !== 'running'
      ? 'end'
      : c?.phase === 'done'
        ? 'dataset'
        : (c?.phase ?? phase);
  if (next !== phase) {
    const took = (now - phaseStart) / 1000;
    phaseSeconds[phase] = took;
    const cpuNow = treeCpuSeconds();
    phaseCpu[phase] = new Map([...cpuNow].map(([k, v]) => [k, v - (cpuAtPhaseStart.get(k) ?? 0)]));
    cpuAtPhaseStart = cpuNow;
    if (statements) phaseStatements[phase] = await topStatements();
    log(`${phase} took ${took.toFixed(0)} s`);
    phase = next;
    phaseStart = now;
    // The pass began after the previous poll, which saw the old phase: rates start from there.
    mark = { n: 1, done: 0, at: lastPoll };
  }
  if (phase === 'end') break;
  // Scoring counts records whose batch completed. The API's progress (a read model over record
  // statuses) has no dedupe cursor, so dedupe counts the passing records no longer 'scored'.
  const { done, span } = !c
    ? { done: 0, span: 1 }
    : phase === 'scoring'
      ? { done: c.scored, span: Math.max(1, c.received) }
      : phase === 'dedupe'
        ? await dedupeProgress()
        : { done: 0, span: 1 };
  // Several marks passed within one poll share that poll's rate (rather than the later ones reading 0/s).
  const pollRate = Math.round((done - mark.done) / Math.max(0.001, (now - mark.at) / 1000));
  while (c && done > 0 && done >= (mark.n * span) / 10) {
    const rate = pollRate;
    const mib = (await bandBytes()) / 2 ** 20;
    (passMarks[phase] ??= []).push(`${mark.n * 10}% ${rate}/s`);
    log(
      `${phase} ${mark.n * 10}%: ${done}/${span}, ${rate}/s since the last line, ${c.accepted} passing, band tables ${mib.toFixed(0)} MiB, worker peak RSS ${peakRssMiB(workerPid).toFixed(0)} MiB`,
    );
    mark = { n: mark.n + 1, done, at: now };
  }
  lastPoll = now;
  await new Promise((r) => setTimeout(r, 2000));
}
const scoreSeconds = (Date.now() - scoreStart) / 1000;
await temporal.workflow.getHandle(workflowIds.lifecycle(id)).cancel();

const statuses = await sql<
  { status: string; n: number }[]
>`select status, count(*)::int as n from contributions where datanet_id = ${id} group by status order by status`;
let maxHistory = 0;
let runs = 0;
for await (const w of temporal.workflow.list({
  query: `WorkflowId = "collection-${id}" OR WorkflowId = "lifecycle-${id}"`,
})) {
  runs++;
  maxHistory = Math.max(maxHistory, w.historyLength);
}
const rss = peakRssMiB(workerPid);
// Band claims at the end. The scoring pass stages them (lsh_band_claims); the first dedupe batches
// reduce them partition by partition into, per batch, the bands an earlier record in another batch
// claimed too (lsh_band_owners), which each dedupe batch reads by its key.
const datanetKey = lshDatanetKey(id);
const [reduction] = await sql<{ parts: number; shared: number; seconds: number | null }[]>`
  select count(*)::int as parts, coalesce(sum(shared), 0)::int as shared,
         extract(epoch from max(reduced_at) - min(reduced_at))::float8 as seconds
  from lsh_band_reductions where datanet_key = ${datanetKey}::bigint`;
const [owned = { rows: 0, bands: 0, bytes: '0', claims: '0' }] = await sql<
  { rows: number; bands: number; bytes: string; claims: string }[]
>`select count(*)::int as rows, coalesce(sum(cardinality(bands)), 0)::int as bands,
    pg_total_relation_size('lsh_band_owners')::text as bytes, pg_total_relation_size('lsh_band_claims')::text as claims
  from lsh_band_owners where datanet_key = ${datanetKey}::bigint`;
// What one dedupe batch's look-up costs on the full table (the last batch's rows).
const [last] = await sql<{ from_seq: string }[]>`
  select max(from_seq)::text as from_seq from lsh_band_owners where datanet_key = ${datanetKey}::bigint`;
const plan = await sql.unsafe<{ 'QUERY PLAN': string }[]>(
  `explain (analyze, buffers) select bands, owners from lsh_band_owners where datanet_key = $1::bigint and from_seq = $2::bigint`,
  [datanetKey, last?.from_seq ?? '0'],
);
const planLines = plan.map((r) => r['QUERY PLAN'].slice(0, 160));

console.log('');
console.log(
  `records sent                 ${sent} (${Object.entries(kinds)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')})`,
);
console.log(`stored (distinct content)    ${stored.n}`);
console.log(
  `ingest                       ${(stored.n / ingestSeconds).toFixed(0)} contributions/s (${ingestSeconds.toFixed(1)} s)`,
);
console.log(
  `scoring + dedupe + dataset   ${(stored.n / scoreSeconds).toFixed(0)} contributions/s (${scoreSeconds.toFixed(1)} s)`,
);
console.log(
  `  by phase                   ${Object.entries(phaseSeconds)
    .filter(([k]) => k !== 'window')
    .map(([k, v]) => `${k} ${v.toFixed(0)} s`)
    .join(', ')}`,
);
for (const [k, m] of Object.entries(phaseCpu)) {
  if (k === 'window') continue;
  const total = [...m.values()].reduce((a, b) => a + b, 0);
  const top = [...m]
    .filter(([, v]) => v >= 0.5)
    .sort((a, b) => b[1] - a[1])
    .map(([n, v]) => `${n.replace(/^node /, '')} ${v.toFixed(0)}`)
    .join(', ');
  console.log(
    `${(k + ' CPU').padEnd(28)} ${total.toFixed(0)} CPU s (${((total / Math.max(1, stored.n)) * 1e6).toFixed(0)} µs per stored record; ${top})`,
  );
}
for (const [k, lines] of Object.entries(phaseStatements)) {
  console.log(`Postgres statements, ${k} (exec time, calls, rows):`);
  for (const l of lines) console.log(`  ${l}`);
}
console.log(`ingest rate at each 10%      ${ingestMarks.join(', ')}`);
for (const [k, v] of Object.entries(passMarks)) console.log(`${(k + ' rate at each 10%').padEnd(28)} ${v.join(', ')}`);
console.log(
  `band-claim reduction         ${reduction?.parts ?? 0} partitions, ${reduction?.shared ?? 0} bands claimed by more than one batch, ${(reduction?.seconds ?? 0).toFixed(1)} s from first to last partition`,
);
console.log(
  `lsh_band_owners              ${owned.rows} rows, ${owned.bands} bands owned in an earlier batch, ${(Number(owned.bytes) / 2 ** 20).toFixed(0)} MiB (${(Number(owned.bytes) / Math.max(1, stored.n)).toFixed(0)} bytes per stored record); lsh_band_claims left ${(Number(owned.claims) / 2 ** 20).toFixed(0)} MiB (deleted rows until vacuumed)`,
);
console.log(`one batch's owner look-up:`);
for (const l of planLines) console.log(`    ${l}`);
console.log(`statuses                     ${statuses.map((s) => `${s.status} ${s.n}`).join(', ')}`);
console.log(`peak worker RSS              ${rss.toFixed(0)} MiB`);
console.log(`largest workflow history     ${maxHistory} events over ${runs} runs (Temporal's limit: 51,200)`);

await bench.stop();
process.exit(0);
