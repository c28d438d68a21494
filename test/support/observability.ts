import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** infra/observability/: Grafana dashboards, Prometheus alert rules, the monitors. */
export const OBSERVABILITY_DIR = fileURLToPath(new URL('../../infra/observability/', import.meta.url));

export interface GrafanaPanel {
  title?: string;
  type?: string;
  targets?: { expr?: string; refId?: string }[];
  panels?: GrafanaPanel[];
}

export interface Dashboard {
  file: string;
  json: { uid?: string; title?: string; panels?: GrafanaPanel[] };
}

/** Every dashboard under dashboards/. */
export function dashboards(): Dashboard[] {
  const dir = `${OBSERVABILITY_DIR}dashboards/`;
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => ({
      file: `dashboards/${file}`,
      json: JSON.parse(readFileSync(dir + file, 'utf8')) as Dashboard['json'],
    }));
}

/** The alert rules file, as parsed YAML (its shape is checked by infra/observability/rules.test.ts). */
export function ruleFile(): unknown {
  return parse(readFileSync(`${OBSERVABILITY_DIR}prometheus-rules.yaml`, 'utf8'));
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
}

/** Every PromQL expression of the dashboards and the alert rules, with where it is. */
export function observabilityExpressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (file: string, panels: GrafanaPanel[] = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) if (t.expr) out.push({ where: `${file}: ${p.title}`, expr: t.expr });
      walk(file, p.panels);
    }
  };
  for (const d of dashboards()) walk(d.file, d.json.panels);
  const rules = ruleFile() as { spec: { groups: { rules: Rule[] }[] } };
  for (const g of rules.spec.groups)
    for (const r of g.rules) out.push({ where: `prometheus-rules.yaml: ${r.alert ?? r.record}`, expr: r.expr });
  return out;
}
