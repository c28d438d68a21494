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
import { VERSIONING_BEHAVIOR } from '../contracts/worker-deployments.js';
import * as workflowSearchAttributes from '../contracts/search-attributes.js';

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
  volumes?: { name: string; configMap?: { name: string } }[];
}
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Labels };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: unknown;
}
interface Workload extends K8sObject {
  spec: { selector?: { matchLabels?: Labels }; template: { metadata?: { labels?: Labels }; spec: PodSpec } };
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
const kustomization = loadYaml(join(k8sDir, 'kustomization.yaml'))[0] as Kustomization;
const k8sObjects = k8sFiles
  .filter((f) => f !== 'kustomization.yaml')
  .flatMap((f) => loadYaml(join(k8sDir, f)) as K8sObject[]);
const ofKind = <T extends K8sObject>(kind: string): T[] => k8sObjects.filter((o) => o.kind === kind) as T[];
const deployments = ofKind<Workload>('Deployment');
/** The release: the `commons` image tag in kustomization.yaml, which is also the Worker Versioning build id. */
const release = kustomization.images?.find((i) => i.name === 'commons')?.newTag ?? '';
const releaseSlug = release.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
const VERSION_LABEL = 'app.kubernetes.io/version';
const jobs = ofKind<Workload>('Job');
const workloads = [...deployments, ...jobs];
const configMaps = new Map(ofKind('ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
const secrets = new Map(
  ofKind('Secret').map((s) => [s.metadata.name, { ...(s.stringData ?? {}), ...decodeData(s.data) }]),
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

/** Worker kinds: entry file workers/<queue>.ts, checked below to run exactly that kind. */
const workerKinds = Object.entries(TASK_QUEUES).map(([kind, queue]) => ({
  kind,
  queue,
  entry: `workers/${queue}.ts`,
  gpu: queue.startsWith('gpu-'),
}));

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

const appServices = Object.entries(services).filter(([, s]) =>
  /\b(api\/main|workers\/[a-z-]+)\.ts\b/.test(commandOf({ command: s.command })),
);

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
  it.each(workerKinds)('$entry runs exactly the $kind worker ($queue)', ({ kind, entry }) => {
    const src = readFileSync(join(repoRoot, entry), 'utf8');
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
    expect(listed).toEqual(k8sFiles.filter((f) => f !== 'kustomization.yaml'));
    const generated = (kustomization.configMapGenerator ?? []).flatMap((g) => g.files ?? []);
    for (const f of generated) expect(existsSync(join(k8sDir, f)), f).toBe(true);
    // Every other top-level file is fed to a generator (nothing silently left out of the apply).
    const others = readdirSync(k8sDir).filter((f) => statSync(join(k8sDir, f)).isFile() && !/\.ya?ml$/.test(f));
    expect(others.sort()).toEqual([...generated].sort());
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
      .filter((c) => /\b(api\/main|workers\/[a-z-]+)\.ts\b/.test(commandOf(c)))
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

  it('secrets live in the Secret, not the ConfigMap', () => {
    for (const data of configMaps.values()) {
      expect(Object.keys(data)).not.toContain('DATABASE_URL');
      expect(Object.keys(data)).not.toContain('S3_SECRET_ACCESS_KEY');
    }
    expect([...secrets.values()].some((s) => 'DATABASE_URL' in s && 'S3_SECRET_ACCESS_KEY' in s)).toBe(true);
  });

  it('API: readiness and liveness probes on /healthz at the port it listens on, behind a Service and an Ingress', () => {
    const api = deployments.filter((d) =>
      d.spec.template.spec.containers.some((c) => commandOf(c).includes('api/main.ts')),
    );
    expect(api).toHaveLength(1);
    const apiDeployment = must(api[0], 'the API Deployment');
    const c = must(
      apiDeployment.spec.template.spec.containers.find((x) => commandOf(x).includes('api/main.ts')),
      'the API container',
    );
    const listenPort = Number(loadConfig(containerEnv(c)).api.port);
    for (const probe of [c.readinessProbe, c.livenessProbe]) {
      expect(probe?.httpGet?.path).toBe('/healthz');
      expect(resolvePort(c, probe?.httpGet?.port)).toBe(listenPort);
    }
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

  it('the data-collection workers scale with an HPA on their own Deployment', () => {
    const hpas = ofKind<Hpa>('HorizontalPodAutoscaler');
    const target = `commons-worker-${TASK_QUEUES.data}`;
    const hpa = hpas.find((h) => h.spec.scaleTargetRef.name === target);
    expect(hpa?.spec.scaleTargetRef.kind).toBe('Deployment');
    expect(deployments.some((d) => d.metadata.name === target)).toBe(true);
    expect(hpa!.spec.maxReplicas).toBeGreaterThan(hpa!.spec.minReplicas ?? 1);
    // The HPA owns the replica count: a fixed `replicas` would be reset on every apply.
    expect(
      (deployments.find((d) => d.metadata.name === target)!.spec as { replicas?: number }).replicas,
    ).toBeUndefined();
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
        containersOf(j).some((c) => /infra\/versioning\/cli\.ts set-current/.test(commandOf(c))),
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
    const temporal = byImage(/^temporalio\/(auto-setup|server):/);
    expect(temporal).toHaveLength(1);
    const [temporalName, temporalSvc] = must(temporal[0], 'a Temporal server service');
    const [postgresName] = must(byImage(/^postgres:/)[0], 'a Postgres service');
    expect(serviceEnv(temporalSvc, vars).DB).toMatch(/^postgres/);
    expect(temporalSvc.depends_on?.[postgresName]?.condition).toBe('service_healthy');
    expect(byImage(/^temporalio\/ui:/)).toHaveLength(1);
    expect(byImage(/versitygw|minio/)).toHaveLength(1);
    const init = byImage(/^temporalio\/admin-tools:/);
    expect(init).toHaveLength(1);
    expect(must(init[0], 'an admin-tools service')[1].depends_on?.[temporalName]?.condition).toBe('service_healthy');
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
      const [init] = must(
        Object.entries(services).find(([, svc]) => /admin-tools/.test(svc.image ?? '')),
        'an admin-tools service',
      );
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
      expect(services[hostOf(cfg.temporal.address)]?.image).toMatch(/^temporalio\/(auto-setup|server):/);
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
    const init = must(
      Object.values(services).find((s) => /admin-tools/.test(s.image ?? '')),
      'an admin-tools service',
    );
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

describe('Dockerfiles', () => {
  const dockerfile = readFileSync(join(here, 'Dockerfile'), 'utf8');
  const gpuDockerfile = readFileSync(join(here, 'Dockerfile.gpu'), 'utf8');
  const stages = (text: string) => [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => must(m[1], `the image in ${m[0]}`));
  const finalStage = (text: string) => text.slice(text.lastIndexOf('\nFROM '));

  it('base images are pinned, never latest', () => {
    for (const image of [...stages(dockerfile), ...stages(gpuDockerfile)]) {
      expect(imageTag(image), image).toBeTruthy();
      expect(imageTag(image)).not.toBe('latest');
    }
    expect(stages(dockerfile).every((s) => s === 'node:20-slim')).toBe(true);
    expect(stages(gpuDockerfile).at(-1)).toMatch(/^pytorch\/pytorch:.*cuda/);
  });

  it('installs production dependencies only, runs as a non-root uid, and starts the API by default', () => {
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    for (const text of [dockerfile, gpuDockerfile]) {
      const user = finalStage(text).match(/^USER\s+(\d+)/m)?.[1];
      expect(Number(user)).toBeGreaterThan(0);
    }
    const cmd = JSON.parse(
      must(dockerfile.match(/^CMD\s+(\[.*\])$/m)?.[1], 'an exec-form CMD in the Dockerfile'),
    ) as string[];
    expect(cmd.at(-1)).toBe('api/main.ts');
    const port = Number(dockerfile.match(/^EXPOSE\s+(\d+)/m)?.[1]);
    expect(port).toBe(loadConfig({ DATABASE_URL: 'postgres://x' }).api.port);
  });

  it('copies every top-level folder the runtime code imports from', () => {
    const copiedBy = (text: string) =>
      new Set(
        [...finalStage(text).matchAll(/^COPY\s+(?:--\S+\s+)*(\S+)\s+\.\/\S*$/gm)].map((m) =>
          must(m[1], `the source of ${m[0]}`),
        ),
      );
    const copied = copiedBy(dockerfile);
    // The GPU image runs workers only: the CLI and the API's MCP endpoint are not theirs.
    const apiOnly = new Set(['cli', 'mcp']);
    for (const text of [gpuDockerfile]) {
      const gpuCopied = copiedBy(text);
      expect([...copied].filter((d) => !gpuCopied.has(d) && !apiOnly.has(d))).toEqual([]);
    }
    const entryDirs = ['api', 'workers'];
    const seen = new Set<string>();
    const queue = entryDirs.flatMap((d) =>
      readdirSync(join(repoRoot, d), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
        .map((f) => join(repoRoot, d, f)),
    );
    while (queue.length) {
      const file = queue.pop()!;
      const top = must(relative(repoRoot, file).split('/')[0], 'a top-level folder');
      if (seen.has(file)) continue;
      seen.add(file);
      expect(copied.has(top), `${relative(repoRoot, file)} is needed at runtime but ${top}/ is not copied`).toBe(true);
      const src = readFileSync(file, 'utf8');
      for (const m of src.matchAll(/(?:from\s+|import\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = resolve(dirname(file), must(m[1], `the path in ${m[0]}`)).replace(/\.js$/, '.ts');
        if (existsSync(target)) queue.push(target);
      }
    }
    expect(seen.size).toBeGreaterThan(20);
  });
});
