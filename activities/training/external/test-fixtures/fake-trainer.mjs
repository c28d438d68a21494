#!/usr/bin/env node
// A stand-in for a GPU trainer in tests: speaks the external-trainer protocol (see ../protocol.ts)
// without any ML. FAKE_TRAINER_STEP_MS slows each step; FAKE_TRAINER_FAIL_AT_STEP crashes there.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const spec = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const emit = (e) => process.stdout.write(JSON.stringify(e) + '\n');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stepMs = Number(process.env.FAKE_TRAINER_STEP_MS ?? 0);
const failAt = Number(process.env.FAKE_TRAINER_FAIL_AT_STEP ?? 0);
process.on('SIGTERM', () => {
  process.stderr.write('fake trainer: terminated\n');
  process.exit(143);
});

if (spec.task === 'generate') {
  const labels = ['spam', 'ham'];
  emit({ type: 'result', outputs: spec.prompts.map((p) => ({ promptId: p.id, outputs: labels.slice(0, spec.candidatesPerPrompt).map((l, i) => ({ output: l, score: 1 - i * 0.4 })) })) });
  process.exit(0);
}

const total = Math.max(1, Math.round((spec.hyperparams.epochs ?? 1) * 10));
const every = Math.max(1, Math.round(spec.hyperparams.checkpointEvery ?? 5));
const start = spec.resume ? Number(JSON.parse(readFileSync(spec.resume.checkpointPath, 'utf8')).step) : 0;
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
    writeFileSync(join(spec.outputDir, file), JSON.stringify({ step }));
    emit({ type: 'checkpoint', step, path: file });
  }
}
writeFileSync(join(spec.outputDir, 'model.bin'), JSON.stringify({ task: spec.task, startedAt: start, steps: total, labels: spec.labels ?? null }));
emit({ type: 'result', artifact: 'model.bin', metrics: { accuracy: 0.9, macroF1: 0.88, loss: 1 / total, examples: 10 } });
