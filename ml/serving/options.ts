/**
 * Honour or refuse: a request's generation options are checked against what its predictor can do
 * before the call is admitted, so a refused option costs the caller nothing and no option is ever
 * silently dropped.
 */
import type { GenerationOptions, PredictorCapabilities } from './prediction.js';

/** The OpenAI request field of each option, for refusals a client can act on. */
export const OPENAI_PARAM: Readonly<Record<keyof GenerationOptions, string>> = {
  maxTokens: 'max_tokens',
  temperature: 'temperature',
  topP: 'top_p',
  stop: 'stop',
  seed: 'seed',
  n: 'n',
  tools: 'tools',
  toolChoice: 'tool_choice',
  responseFormat: 'response_format',
};

/** An option a predictor cannot honour; `param` is the GenerationOptions field (e.g. `responseFormat`). */
export class UnsupportedOption extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'UnsupportedOption';
  }
}

/**
 * Values that ask for nothing beyond what every predictor does anyway: one choice, greedy
 * decoding, the whole distribution, no tools. A client library that sends its defaults is not refused.
 */
function asksForNothing(key: keyof GenerationOptions, value: unknown): boolean {
  switch (key) {
    case 'n':
      return value === 1;
    case 'temperature':
      return value === 0;
    case 'topP':
      return value === 1;
    case 'tools':
      return Array.isArray(value) && value.length === 0;
    case 'toolChoice':
      return value === 'none';
    case 'stop':
      return Array.isArray(value) && value.length === 0;
    default:
      return false;
  }
}

/** Throws `UnsupportedOption` naming the first option set in `options` that `capabilities` do not list. */
export function checkOptions(capabilities: PredictorCapabilities, options: GenerationOptions | undefined): void {
  if (!options) return;
  for (const [k, value] of Object.entries(options)) {
    const key = k as keyof GenerationOptions;
    if (value === undefined) continue;
    if (key === 'responseFormat') {
      const type = (value as NonNullable<GenerationOptions['responseFormat']>).type;
      if (type === 'text' || capabilities.responseFormats.has(type)) continue;
      throw new UnsupportedOption(key, `this model cannot produce ${OPENAI_PARAM[key]} "${type}"`);
    }
    if (capabilities.options.has(key) || asksForNothing(key, value)) continue;
    throw new UnsupportedOption(key, `this model does not support ${OPENAI_PARAM[key]}`);
  }
}
