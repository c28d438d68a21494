import { parser } from '@prometheus-io/lezer-promql';

/** Grafana's range macros, replaced by a plain duration so the expression is PromQL. */
const GRAFANA_MACROS = /\$__(rate_interval|interval|range)\b/g;

/**
 * The metric names a PromQL expression selects, parsed with the Prometheus project's own grammar
 * (@prometheus-io/lezer-promql). Throws with the position of the first syntax error.
 */
export function metricNamesOf(expr: string): string[] {
  const text = expr.replace(GRAFANA_MACROS, '5m');
  const names = new Set<string>();
  let error: number | undefined;
  parser.parse(text).iterate({
    enter(n) {
      if (n.type.isError) error ??= n.from;
      else if (n.name === 'Identifier' && n.node.parent?.name === 'VectorSelector') names.add(text.slice(n.from, n.to));
    },
  });
  if (error !== undefined)
    throw new Error(`PromQL syntax error at ${error}: ${text.slice(error, error + 40)} in ${expr}`);
  return [...names];
}

/** The metric names of the samples in a Prometheus text exposition (a histogram's as _bucket, _sum, _count). */
export function sampledNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
    if (name) names.add(name);
  }
  return names;
}
