#!/usr/bin/env node
// A stand-in for a GPU trainer in tests: speaks the external-trainer protocol (../protocol.ts)
// without any ML. Usage: node fake-trainer.mjs job.json
//
// sft/dpo run epochs × 10 steps, a checkpoint every `checkpointEvery` steps, and write a JSON
// artifact describing what they saw; generate ranks the labels stored in the model file.
// Environment:
//   FAKE_TRAINER_STEP_MS          sleep per step
//   FAKE_TRAINER_FAIL_AT_STEP     crash (exit 3, message on stderr) when reaching this step
//   FAKE_TRAINER_PID_FILE         write {"pid","childPid"} here once running
//   FAKE_TRAINER_SPAWN_CHILD=1    start a helper process in the same group (like a data loader)
//   FAKE_TRAINER_IGNORE_SIGTERM=1 ignore SIGTERM (it and its helper), so only SIGKILL stops them
//   FAKE_TRAINER_ARTIFACT         artifact file name (default model.bin)
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const env = process.env;
const emit = (e) => process.stdout.write(JSON.stringify(e) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const lines = (path) =>
  path
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim()).length
    : 0;
const stepMs = Number(env.FAKE_TRAINER_STEP_MS ?? 0);
const failAt = Number(env.FAKE_TRAINER_FAIL_AT_STEP ?? 0);
const ignoreTerm = env.FAKE_TRAINER_IGNORE_SIGTERM === '1';

process.on('SIGTERM', () => {
  if (ignoreTerm) return;
  process.stderr.write('fake trainer: terminated\n');
  process.exit(143);
});

let childPid = null;
if (env.FAKE_TRAINER_SPAWN_CHILD === '1') {
  const code = `${ignoreTerm ? 'process.on("SIGTERM", () => {});' : ''} setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  childPid = child.pid;
  child.unref();
}
if (env.FAKE_TRAINER_PID_FILE) writeFileSync(env.FAKE_TRAINER_PID_FILE, JSON.stringify({ pid: process.pid, childPid }));

if (spec.task === 'generate') {
  const model = JSON.parse(readFileSync(spec.inputs.model, 'utf8'));
  const labels = model.labels;
  const outputs = spec.prompts.map((p) => ({
    promptId: p.id,
    outputs: labels.slice(0, spec.candidatesPerPrompt).map((l, i) => ({ output: l, score: 1 - i / labels.length })),
  }));
  emit({ type: 'result', outputs });
  process.exit(0);
}

const total = Math.max(1, Math.round((spec.hyperparams.epochs ?? 1) * 10));
const every = Math.max(1, Math.round(spec.hyperparams.checkpointEvery ?? 5));
let start = 0;
if (spec.resume) {
  start = spec.resume.step;
  const saved = JSON.parse(readFileSync(spec.resume.checkpointPath, 'utf8'));
  if (saved.step !== start || saved.jobId !== spec.jobId) {
    process.stderr.write(
      `fake trainer: checkpoint is for ${saved.jobId} step ${saved.step}, not ${spec.jobId} step ${start}\n`,
    );
    process.exit(4);
  }
}
emit({ type: 'log', message: `starting ${spec.task} at step ${start} of ${total}` });
console.log('plain log line: not protocol');

for (let step = start + 1; step <= total; step++) {
  if (stepMs) await sleep(stepMs);
  if (failAt && step === failAt) {
    process.stderr.write(`fake trainer: simulated crash at step ${step}\n`);
    process.exit(3);
  }
  emit({ type: 'progress', step, totalSteps: total, epoch: Math.ceil(step / 10), loss: 1 / step });
  if (step % every === 0 && step < total) {
    const file = `ckpt-${step}.json`;
    writeFileSync(join(spec.outputDir, file), JSON.stringify({ jobId: spec.jobId, step }));
    emit({ type: 'checkpoint', step, path: file });
  }
}

const evalRecords = lines(spec.inputs.eval);
const artifact = env.FAKE_TRAINER_ARTIFACT || 'model.bin';
const labels = spec.labels ?? (spec.inputs.policy ? JSON.parse(readFileSync(spec.inputs.policy, 'utf8')).labels : null);
writeFileSync(
  join(spec.outputDir, artifact),
  JSON.stringify({
    task: spec.task,
    jobId: spec.jobId,
    startedAt: start,
    steps: total,
    labels,
    trainRecords: lines(spec.inputs.train),
    evalRecords,
    preferences: spec.preferences ?? null,
    beta: spec.beta ?? null,
  }),
);
emit({ type: 'result', artifact, metrics: { accuracy: 0.9, macroF1: 0.88, loss: 1 / total, examples: evalRecords } });
