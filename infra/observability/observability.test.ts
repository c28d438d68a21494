import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { parseAllDocuments } from 'yaml';
import { metricNamesOf } from '../../test/support/promql.js';
import { dashboards, OBSERVABILITY_DIR, ruleFile, type GrafanaPanel } from '../../test/support/observability.js';

/**
 * The files in infra/observability/ are valid without a Prometheus or a Grafana to load them
 * (promtool is not available here): the alert rules have the shape of a PrometheusRule (Prometheus's
 * rule-file format inside the operator's resource), every expression parses with Prometheus's
 * PromQL grammar, the dashboards are well-formed, and the monitors select the pods and ports of
 * infra/k8s. test/e2e/metrics.test.ts checks every metric they use is exported.
 */

/** Prometheus's duration syntax (model.ParseDuration). */
const Duration = Type.String({
  pattern: '^(0|(\\d+y)?(\\d+w)?(\\d+d)?(\\d+h)?(\\d+m)?(\\d+s)?(\\d+ms)?)$',
  minLength: 1,
});
const LabelName = '^[a-zA-Z_][a-zA-Z0-9_]*$';
const Labels = Type.Record(Type.String({ pattern: LabelName }), Type.String());
const AlertingRule = Type.Object(
  {
    alert: Type.String({ pattern: '^[A-Z][A-Za-z0-9]*$' }),
    expr: Type.String({ minLength: 1 }),
    for: Type.Optional(Duration),
    keep_firing_for: Type.Optional(Duration),
    labels: Type.Object(
      { severity: Type.Union([Type.Literal('critical'), Type.Literal('warning')]) },
      { additionalProperties: Type.String() },
    ),
    annotations: Type.Object(
      { summary: Type.String({ minLength: 1 }), description: Type.String({ minLength: 1 }) },
      { additionalProperties: Type.String() },
    ),
  },
  { additionalProperties: false },
);
const RuleGroup = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    interval: Type.Optional(Duration),
    limit: Type.Optional(Type.Integer({ minimum: 0 })),
    rules: Type.Array(AlertingRule, { minItems: 1 }),
  },
  { additionalProperties: false },
);
const PrometheusRule = Type.Object({
  apiVersion: Type.Literal('monitoring.coreos.com/v1'),
  kind: Type.Literal('PrometheusRule'),
  metadata: Type.Object({ name: Type.String({ minLength: 1 }), labels: Type.Optional(Labels) }),
  spec: Type.Object({ groups: Type.Array(RuleGroup, { minItems: 1 }) }, { additionalProperties: false }),
});

const panelsOf = (panels: GrafanaPanel[] = []): GrafanaPanel[] => panels.flatMap((p) => [p, ...panelsOf(p.panels)]);
/** The fields of the Kubernetes objects these tests read. */
interface K8sDoc {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpoints: { port: string }[];
    podMetricsEndpoints: { port: string }[];
    ports: { name: string }[];
    template: { metadata: { labels: Record<string, string> }; spec: { containers: { ports?: { name: string }[] }[] } };
  };
}
interface Kustomization {
  resources: string[];
  configMapGenerator: { files: string[]; options: { labels: Record<string, string> } }[];
}
const yamlDocs = <T>(dir: string, file: string): T[] =>
  parseAllDocuments(readFileSync(join(dir, file), 'utf8')).map((d) => d.toJSON() as T);
const K8S_DIR = join(OBSERVABILITY_DIR, '../k8s');

describe('alert rules (infra/observability/prometheus-rules.yaml)', () => {
  const file = ruleFile();

  it('is a PrometheusRule whose groups and alerting rules have the rule-file shape', () => {
    const errors = [...Value.Errors(PrometheusRule, file)].map((e) => `${e.path}: ${e.message}`);
    expect(errors).toEqual([]);
  });

  const rules = (file as Static<typeof PrometheusRule>).spec.groups.flatMap((g) => g.rules);

  it('names each group and alert once', () => {
    const groups = (file as Static<typeof PrometheusRule>).spec.groups.map((g) => g.name);
    expect(new Set(groups).size).toBe(groups.length);
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
  });

  it.each(rules.map((r) => [r.alert, r] as const))(
    '%s: its expression parses and its templates name labels it keeps',
    (_name, r) => {
      expect(metricNamesOf(r.expr).length).toBeGreaterThan(0);
      // {{ $labels.x }} is empty unless the expression's result keeps label x (a `by` clause names it).
      const text = Object.values(r.annotations).join(' ');
      for (const [, label] of text.matchAll(/\$labels\.(\w+)/g))
        expect(r.expr).toMatch(new RegExp(`by \\([^)]*\\b${label}\\b`));
    },
  );

  it('covers what the operators asked to be woken for', () => {
    expect(rules.map((r) => r.alert).sort()).toEqual(
      expect.arrayContaining([
        'CommonsLifecyclesFailing',
        'CommonsBudgetNearlyExhausted',
        'CommonsPaidCallErrors',
        'CommonsNoWorkersPolling',
        'CommonsApiLatencyHigh',
      ]),
    );
  });
});

describe('Grafana dashboards (infra/observability/dashboards/)', () => {
  const all = dashboards();

  it('one for operations and one for the economy, each with a unique uid', () => {
    expect(all.map((d) => d.json.uid)).toEqual(['commons-economy', 'commons-ops']);
  });

  it.each(all.map((d) => [d.file, d] as const))(
    '%s: panels with unique ids on the 24-column grid, each query parses',
    (_f, d) => {
      const panels = panelsOf(d.json.panels) as (GrafanaPanel & {
        id: number;
        gridPos: { x: number; w: number };
        datasource?: { uid: string };
      })[];
      expect(new Set(panels.map((p) => p.id)).size).toBe(panels.length);
      for (const p of panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
      const queries = panels.filter((p) => p.type !== 'row');
      expect(queries.length).toBeGreaterThan(5);
      for (const p of queries) {
        expect(p.datasource?.uid, p.title).toBe('${datasource}');
        expect(p.targets?.length, p.title).toBeGreaterThan(0);
        for (const t of p.targets ?? []) expect(metricNamesOf(t.expr ?? '').length, p.title).toBeGreaterThan(0);
      }
    },
  );
});

describe('scrape targets and the kustomization (infra/observability/)', () => {
  const monitors = yamlDocs<K8sDoc>(OBSERVABILITY_DIR, 'monitors.yaml');
  const workloads = [
    'api.yaml',
    'worker-lifecycle.yaml',
    'worker-data-collection.yaml',
    'worker-gpu-training.yaml',
    'worker-gpu-rlhf.yaml',
  ].flatMap((f) => yamlDocs<K8sDoc>(K8S_DIR, f));
  const matches = (selector: Record<string, string> = {}, labels: Record<string, string> = {}) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);
  const monitor = (kind: string) => {
    const m = monitors.find((x) => x.kind === kind);
    if (!m) throw new Error(`no ${kind} in monitors.yaml`);
    return m;
  };

  it('the ServiceMonitor selects the API Service and names its port', () => {
    const sm = monitor('ServiceMonitor');
    const services = workloads.filter(
      (w) => w.kind === 'Service' && matches(sm.spec.selector.matchLabels, w.metadata.labels),
    );
    expect(services.map((s) => s.metadata.name)).toEqual(['commons-api']);
    expect(services[0]?.spec.ports.map((p) => p.name)).toContain(sm.spec.endpoints[0]?.port);
  });

  it('the PodMonitor selects every worker Deployment and names its metrics port', () => {
    const pm = monitor('PodMonitor');
    const deployments = workloads.filter((w) => w.kind === 'Deployment');
    const selected = deployments.filter((d) => matches(pm.spec.selector.matchLabels, d.spec.template.metadata.labels));
    const workers = deployments.filter((d) => d.metadata.name.includes('worker'));
    expect(workers).toHaveLength(4);
    expect(selected.map((d) => d.metadata.name).sort()).toEqual(workers.map((d) => d.metadata.name).sort());
    for (const d of selected) {
      const ports = d.spec.template.spec.containers.flatMap((c) => c.ports ?? []).map((p) => p.name);
      expect(ports, d.metadata.name).toContain(pm.spec.podMetricsEndpoints[0]?.port);
    }
  });

  it('applies the monitors, the rules and every dashboard', () => {
    const [kustomization] = yamlDocs<Kustomization>(OBSERVABILITY_DIR, 'kustomization.yaml');
    expect(kustomization?.resources).toEqual(['monitors.yaml', 'prometheus-rules.yaml']);
    const generated = kustomization?.configMapGenerator[0];
    expect(generated?.options.labels).toEqual({ grafana_dashboard: '1' });
    expect([...(generated?.files ?? [])].sort()).toEqual(
      dashboards()
        .map((d) => d.file)
        .sort(),
    );
  });
});
