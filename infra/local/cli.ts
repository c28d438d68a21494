// `npm run stack`: the local stack alone (Temporal with its UI: the dev server, or the real server with
// COMMONS_TEMPORAL=server; Postgres, S3, Jaeger), kept up
// until Ctrl-C, for running `npm run worker` and `npm run api` against it in other terminals.
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { startSystem } from './system.js';
import { preferredPort } from './ports.js';

// The state is kept between runs (what you ran against it is still there next time).
const stateDir = process.env.COMMONS_STATE_DIR ?? join(tmpdir(), 'commons-stack');
const system = await startSystem({
  stateDir,
  ports: {
    temporal: await preferredPort(7233),
    temporalUi: await preferredPort(8233),
    jaegerUi: await preferredPort(16686),
  },
  tracing: true,
  workers: false,
  api: false,
  log: (m) => console.error(`[stack] ${m}`),
});
const stack = system.stack!;
console.error(
  `[stack] up, state in ${stateDir}; Temporal ${stack.temporalFlavour ?? 'external'}, UI ${stack.temporalUiUrl ?? 'external'}; traces (Jaeger) ${stack.tracesUiUrl ?? 'external'}. Ctrl-C stops it.`,
);
console.error(
  '[stack] in other shells, source the export lines (`npm run -s stack > stack.env`, then `. ./stack.env`)',
);
console.error('[stack] and run `npm run worker` and `npm run api`.');
// Shell-ready lines on stdout, so `npm run -s stack > .stack.env` captures just the environment.
for (const [k, v] of Object.entries(stack.env)) console.log(`export ${k}=${JSON.stringify(v)}`);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await system.stop();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
