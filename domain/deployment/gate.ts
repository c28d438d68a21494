import type { EvalMetrics } from '../lifecycle/types.js';

/** Pure gate: absolute thresholds, then no worse than production by more than maxRegression. */
export function evaluateGate(
  m: EvalMetrics,
  d: { minAccuracy: number; minMacroF1: number; maxRegression: number },
  production?: EvalMetrics,
): { passed: boolean; reason: string } {
  if (m.accuracy < d.minAccuracy)
    return { passed: false, reason: `accuracy ${m.accuracy.toFixed(3)} below ${d.minAccuracy}` };
  if (m.macroF1 < d.minMacroF1)
    return { passed: false, reason: `macro-F1 ${m.macroF1.toFixed(3)} below ${d.minMacroF1}` };
  if (production && m.accuracy < production.accuracy - d.maxRegression) {
    return {
      passed: false,
      reason: `accuracy ${m.accuracy.toFixed(3)} regresses more than ${d.maxRegression} from production ${production.accuracy.toFixed(3)}`,
    };
  }
  return {
    passed: true,
    reason: production
      ? `meets thresholds and production (${production.accuracy.toFixed(3)})`
      : 'meets thresholds (no production version yet)',
  };
}
