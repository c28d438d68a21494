/**
 * Which version of a model answers a paid call, from the registry's serving state: only a serving
 * model's production version, or by number one of its versions that is production or superseded
 * (an earlier production, still served by version). Everything else is refused before anything
 * is loaded or charged: a retired model or version is gone (410), the rest not found (404).
 */
export interface ServingState {
  status: 'serving' | 'retired';
  productionVersion: number | null;
  /** Each registered version's status: candidate | production | superseded | retired | abandoned. */
  versions: Map<number, string>;
}

export type ServedVersion = { version: number } | { refused: 404 | 410; reason: string };

const SERVED = new Set(['production', 'superseded']);

export function servedVersion(
  modelName: string,
  state: ServingState | undefined,
  which: number | 'production',
): ServedVersion {
  if (!state) return { refused: 404, reason: `no model ${modelName}` };
  if (state.status === 'retired') return { refused: 410, reason: `model ${modelName} is retired` };
  if (which === 'production')
    return state.productionVersion === null
      ? { refused: 404, reason: `model ${modelName} has no production version` }
      : { version: state.productionVersion };
  const status = state.versions.get(which);
  if (status === 'retired') return { refused: 410, reason: `version ${which} of ${modelName} is retired` };
  if (status === undefined || !SERVED.has(status))
    return {
      refused: 404,
      reason: `model ${modelName} has no serving version ${which}${status ? ` (it is ${status})` : ''}`,
    };
  return { version: which };
}
