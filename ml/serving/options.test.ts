import { describe, expect, it } from 'vitest';
import { checkOptions, UnsupportedOption, type PredictorCapabilities } from './predictor.js';

const rag: PredictorCapabilities = {
  options: new Set(['maxTokens', 'stop', 'n']),
  responseFormats: new Set(['text']),
  streaming: true,
  embeddings: true,
};

function refusal(f: () => void): UnsupportedOption {
  try {
    f();
  } catch (err) {
    if (err instanceof UnsupportedOption) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('checkOptions (honour or refuse, before the call is admitted)', () => {
  it('accepts what the predictor lists, and no options at all', () => {
    expect(() => checkOptions(rag, undefined)).not.toThrow();
    expect(() => checkOptions(rag, { maxTokens: 5, stop: ['\n'], n: 3 })).not.toThrow();
  });

  it('refuses any other option, naming it and its OpenAI field', () => {
    const t = refusal(() => checkOptions(rag, { maxTokens: 5, temperature: 0.7 }));
    expect(t.param).toBe('temperature');
    const tools = refusal(() => checkOptions(rag, { tools: [{ name: 'f' }] }));
    expect(tools.param).toBe('tools');
    expect(refusal(() => checkOptions(rag, { seed: 1 })).param).toBe('seed');
    expect(refusal(() => checkOptions(rag, { topP: 0.5 })).message).toMatch(/top_p/);
    expect(refusal(() => checkOptions(rag, { toolChoice: 'required' })).param).toBe('toolChoice');
  });

  it('refuses a response format the predictor cannot produce; text is always fine', () => {
    expect(() => checkOptions(rag, { responseFormat: { type: 'text' } })).not.toThrow();
    const j = refusal(() => checkOptions(rag, { responseFormat: { type: 'json_schema', name: 'x', schema: {} } }));
    expect(j.param).toBe('responseFormat');
    expect(j.message).toMatch(/response_format "json_schema"/);
    expect(refusal(() => checkOptions(rag, { responseFormat: { type: 'json_object' } })).param).toBe('responseFormat');
  });

  it('accepts values that ask for nothing beyond the default (a client sending its defaults is not refused)', () => {
    const none: PredictorCapabilities = { ...rag, options: new Set() };
    expect(() =>
      checkOptions(none, { n: 1, temperature: 0, topP: 1, tools: [], stop: [], toolChoice: 'none' }),
    ).not.toThrow();
    expect(refusal(() => checkOptions(none, { n: 2 })).param).toBe('n');
    expect(refusal(() => checkOptions(none, { temperature: 1 })).param).toBe('temperature');
  });
});
