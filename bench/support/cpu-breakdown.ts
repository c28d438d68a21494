import { readFileSync } from 'node:fs';

/**
 * Where a process's CPU went, from a V8 CPU profile (node --cpu-prof): each sample is charged to
 * the part of a paid call its stack shows, read from the leaf up, so a socket write made by the
 * Postgres client counts as Postgres and one made by the HTTP server as HTTP. Samples of module
 * loading and of loading the model are left out: they are not per call.
 */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The parts of a paid call, in the order they are printed. */
export const CALL_PARTS = [
  'HTTP (node:http, sockets)',
  'Fastify routing and hooks',
  'request checks and validation',
  'auth (API key)',
  'admission and version lookup',
  'tokenising and featurisation',
  'prediction (logits)',
  'gradient projection',
  'ANN search',
  'candidate re-rank',
  'attribution assembly',
  'fee split and erasures',
  'answer serialisation',
  'group commit and Postgres client',
  'metrics and logging',
  'promises and timers',
  'Temporal client (background)',
  'garbage collection',
  'other',
] as const;
export type CallPart = (typeof CALL_PARTS)[number];

/** The parts that are the model's own compute (predict + attribute); the rest is the endpoint around it. */
export const COMPUTE_PARTS = [
  'tokenising and featurisation',
  'prediction (logits)',
  'gradient projection',
  'ANN search',
  'candidate re-rank',
  'attribution assembly',
] as const satisfies readonly CallPart[];

type Matcher = (fn: string, url: string) => boolean;
const file =
  (re: RegExp): Matcher =>
  (_fn, url) =>
    re.test(url);
const fnIn =
  (re: RegExp, names: RegExp): Matcher =>
  (fn, url) =>
    re.test(url) && names.test(fn);

/** Leaf-most match wins; within one frame, the first rule that matches. */
const RULES: [CallPart | 'excluded', Matcher][] = [
  ['excluded', file(/^node:internal\/modules\//)],
  // Building the server (schemas compiled, plugins booted) and the API's start: not per call.
  ['excluded', file(/(\/api\/main\.ts$|node_modules\/avvio\/)/)],
  ['excluded', fnIn(/\/api\/server\.ts$/, /^buildServer$/)],
  ['excluded', fnIn(/model-cache\.ts$/, /^load$/)],
  ['excluded', file(/\/(serialize|embedded-trainer)\.ts$/)],
  ['excluded', fnIn(/attribution-index\.ts$/, /^(fromStore|open|openWith|signTable)$/)],
  ['tokenising and featurisation', file(/\/ml\/embedded\/features\.ts$/)],
  ['tokenising and featurisation', fnIn(/\/linear-softmax\.ts$/, /^featurize/)],
  ['prediction (logits)', file(/\/ml\/embedded\/linear-softmax\.ts$/)],
  ['gradient projection', fnIn(/attribution-index\.ts$/, /^(project|projectFeatures|residualBasis|residualOf)$/)],
  // The feature store the index re-ranks graph candidates from (exact TracIn).
  ['candidate re-rank', file(/\/ml\/index\/sparse-store\.ts$/)],
  ['ANN search', file(/(\/ml\/index\/|usearch|wasm:)/)],
  ['ANN search', fnIn(/attribution-index\.ts$/, /^(graphOnly|search)$/)],
  ['candidate re-rank', fnIn(/attribution-index\.ts$/, /rerank|score|exact|feature/i)],
  ['attribution assembly', file(/\/ml\/(embedded|serving)\//)],
  ['fee split and erasures', file(/\/domain\/serving\//)],
  ['group commit and Postgres client', file(/(\/api\/inference\/group-commit\.ts|\/db\/|node_modules\/postgres\/)/)],
  ['auth (API key)', file(/\/api\/api-key-(auth|lookup)\.ts$/)],
  ['admission and version lookup', file(/\/api\/inference\/(paid-calls|model-cache)\.ts$/)],
  ['answer serialisation', file(/(fast-json-stringify|\/api\/inference\/receipts\.ts$)/)],
  ['answer serialisation', fnIn(/^$/, /^(stringify|JSON\.stringify)$/)],
  ['request checks and validation', file(/(\/api\/(validation|request-guards)\.ts$|ajv|fast-uri|secure-json-parse)/)],
  ['request checks and validation', fnIn(/^$/, /^(parse|JSON\.parse)$/)],
  ['metrics and logging', file(/(prom-client|pino|\/api\/metrics\.ts$)/)],
  [
    'Fastify routing and hooks',
    file(/(node_modules\/(fastify|find-my-way|avvio|@fastify|light-my-request)\/|\/api\/routes\/)/),
  ],
  ['Temporal client (background)', file(/node_modules\/(@grpc|@temporalio|protobufjs)\//)],
  ['HTTP (node:http, sockets)', file(/^node:(_http_|http$|internal\/http)/)],
  ['promises and timers', file(/^node:(internal\/)?(timers|process\/task_queues)/)],
];

const SPECIAL = new Map<string, CallPart | 'idle'>([
  ['(idle)', 'idle'],
  ['(garbage collector)', 'garbage collection'],
  ['(program)', 'other'],
  ['(root)', 'other'],
]);

export interface CpuBreakdown {
  /** Microseconds of CPU per part over the profile (idle and excluded samples left out). */
  micros: Map<CallPart, number>;
  /** Microseconds charged to the parts (what `perCall` divides). */
  total: number;
  excluded: number;
  /** Per part, the leaf frames its samples ended in (function and file), in µs: what to cut next. */
  leaves: Map<CallPart, Map<string, number>>;
}

export function cpuBreakdown(profilePath: string): CpuBreakdown {
  const p = JSON.parse(readFileSync(profilePath, 'utf8')) as Profile;
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const partOf = new Map<number, CallPart | 'idle' | 'excluded'>();
  const classify = (id: number): CallPart | 'idle' | 'excluded' => {
    const hit = partOf.get(id);
    if (hit) return hit;
    const leaf = byId.get(id);
    let part: CallPart | 'idle' | 'excluded' | undefined = leaf ? SPECIAL.get(leaf.callFrame.functionName) : undefined;
    // An excluded frame anywhere up the stack (module loading, the model load) excludes the sample.
    for (let x: number | undefined = id; x !== undefined && part !== 'excluded'; x = parent.get(x)) {
      const { functionName, url } = byId.get(x)!.callFrame;
      for (const [name, m] of RULES) {
        if (!m(functionName, url)) continue;
        if (name === 'excluded') part = 'excluded';
        else part ??= name;
        break;
      }
    }
    const result = part ?? 'other';
    partOf.set(id, result);
    return result;
  };
  const micros = new Map<CallPart, number>(CALL_PARTS.map((c) => [c, 0]));
  const leaves = new Map<CallPart, Map<string, number>>(CALL_PARTS.map((c) => [c, new Map()]));
  let total = 0;
  let excluded = 0;
  for (const [i, id] of p.samples.entries()) {
    const dt = p.timeDeltas[i] ?? 0;
    const part = classify(id);
    if (part === 'idle') continue;
    if (part === 'excluded') {
      excluded += dt;
      continue;
    }
    micros.set(part, micros.get(part)! + dt);
    total += dt;
    const { functionName, url } = byId.get(id)!.callFrame;
    const leaf = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules\/)?/, '')}`;
    const l = leaves.get(part)!;
    l.set(leaf, (l.get(leaf) ?? 0) + dt);
  }
  return { micros, total, excluded, leaves };
}

/** The breakdown as lines of µs per call, largest first, parts under 1 µs folded into "other". */
export function breakdownLines(b: CpuBreakdown, calls: number): string[] {
  const per = (us: number) => us / Math.max(1, calls);
  const rows = CALL_PARTS.map((c) => [c, per(b.micros.get(c) ?? 0)] as const).filter(([, v]) => v >= 0.5);
  rows.sort((a, b2) => b2[1] - a[1]);
  const width = Math.max(...rows.map(([c]) => c.length));
  return [
    ...rows.map(
      ([c, v]) =>
        `  ${c.padEnd(width)} ${v.toFixed(0).padStart(5)} µs  ${((100 * v) / per(b.total)).toFixed(1).padStart(5)}%`,
    ),
    `  ${'total (sampled)'.padEnd(width)} ${per(b.total).toFixed(0).padStart(5)} µs`,
  ];
}
