import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chatRequestOf } from './chat-request.js';
import { responsesRequestOf } from './responses-request.js';
import { CHAT_COMPLETION_FIELDS, EMBEDDING_FIELDS, RESPONSES_FIELDS } from './fields.js';
import { OpenAIError, paramOf } from './errors.js';
import { receiptIdOf } from '../inference/receipts.js';

const user = { role: 'user' as const, content: 'What is the weather in Paris?' };
const chat = (extra: Record<string, unknown>) => chatRequestOf({ model: 'm', messages: [user], ...extra });

/** The refusal a mapping throws: its status, param and code. */
function refusal(run: () => unknown) {
  try {
    run();
  } catch (err) {
    if (err instanceof OpenAIError) return { status: err.statusCode, param: err.param, code: err.code };
    throw err;
  }
  throw new Error('not refused');
}

const weather = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('chat completion requests: honoured or refused, never dropped', () => {
  it('maps the honoured fields onto generation options', () => {
    const r = chat({
      max_completion_tokens: 20,
      temperature: 0.7,
      top_p: 0.9,
      stop: 'END',
      seed: 7,
      n: 2,
      tools: [weather],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      response_format: { type: 'json_schema', json_schema: { name: 'w', schema: { type: 'object' }, strict: true } },
      stream: true,
      stream_options: { include_usage: true },
      parallel_tool_calls: false,
      user: 'end-user-1',
      store: false,
      frequency_penalty: 0,
      logprobs: false,
    });
    expect(r.options).toEqual({
      maxTokens: 20,
      temperature: 0.7,
      topP: 0.9,
      stop: ['END'],
      seed: 7,
      n: 2,
      tools: [{ name: 'get_weather', parameters: weather.function.parameters }],
      toolChoice: { name: 'get_weather' },
      responseFormat: { type: 'json_schema', name: 'w', schema: { type: 'object' }, strict: true },
    });
    expect(r).toMatchObject({ stream: true, includeUsage: true, singleToolCall: true, endUser: 'end-user-1' });
  });

  it('maps assistant tool calls and tool results onto the conversation', () => {
    const r = chat({
      messages: [
        user,
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: [{ type: 'text', text: 'sunny' }] },
      ],
    });
    expect(r.messages).toEqual([
      { role: 'user', content: user.content },
      {
        role: 'assistant',
        content: '',
        toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' }],
      },
      { role: 'tool', content: 'sunny', toolCallId: 'call_1' },
    ]);
  });

  it('refuses unknown fields, refused fields and what a field holds that cannot be honoured, naming each', () => {
    expect(refusal(() => chat({ tempreature: 1 }))).toEqual({
      status: 400,
      param: 'tempreature',
      code: 'unknown_parameter',
    });
    expect(refusal(() => chat({ frequency_penalty: 0.5 }))).toMatchObject({
      param: 'frequency_penalty',
      code: 'unsupported_parameter',
    });
    expect(refusal(() => chat({ logprobs: true }))).toMatchObject({ param: 'logprobs' });
    expect(refusal(() => chat({ store: true }))).toMatchObject({ param: 'store' });
    expect(refusal(() => chat({ audio: { voice: 'x' } }))).toMatchObject({ param: 'audio' });
    expect(refusal(() => chat({ tools: [{ type: 'web_search' }] }))).toMatchObject({ param: 'tools[0].type' });
    expect(refusal(() => chat({ tool_choice: 'required' }))).toMatchObject({ param: 'tool_choice' });
    expect(
      refusal(() => chat({ tools: [weather], tool_choice: { type: 'function', function: { name: 'other' } } })),
    ).toMatchObject({
      param: 'tool_choice.function.name',
    });
    expect(refusal(() => chat({ max_tokens: 5, max_completion_tokens: 6 }))).toMatchObject({ param: 'max_tokens' });
    expect(refusal(() => chat({ stream_options: { include_usage: true } }))).toMatchObject({ param: 'stream_options' });
    expect(refusal(() => chat({ stream: true, stream_options: { include_obfuscation: true } }))).toMatchObject({
      param: 'stream_options.include_obfuscation',
    });
    expect(
      refusal(() => chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] })),
    ).toMatchObject({ param: 'messages[0].content[0].type' });
    expect(refusal(() => chat({ messages: [{ ...user, name: 'bob' }] }))).toMatchObject({ param: 'messages[0].name' });
    expect(refusal(() => chat({ messages: [{ role: 'system', content: 'be brief' }] }))).toMatchObject({
      param: 'messages',
    });
  });

  it('takes null as "not set", as OpenAI does', () => {
    expect(chat({ temperature: null, logit_bias: null, audio: null }).options).toEqual({});
  });
});

describe('responses requests', () => {
  const respond = (extra: Record<string, unknown>) => responsesRequestOf({ model: 'm', input: 'hi there', ...extra });

  it('maps instructions, items, tools and text.format', () => {
    const r = respond({
      instructions: 'be brief',
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'weather?' }] },
        { type: 'function_call', call_id: 'c1', name: 'get_weather', arguments: '{}', id: 'fc_1', status: 'completed' },
        { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
      ],
      tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: true }],
      tool_choice: 'auto',
      text: { format: { type: 'json_schema', name: 'w', schema: { type: 'object' } } },
      max_output_tokens: 30,
      include: [],
      store: false,
    });
    expect(r.messages).toEqual([
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{}' }] },
      { role: 'tool', content: 'sunny', toolCallId: 'c1' },
    ]);
    expect(r.options).toMatchObject({
      maxTokens: 30,
      toolChoice: 'auto',
      responseFormat: { type: 'json_schema', name: 'w', schema: { type: 'object' } },
    });
  });

  it('refuses stored state and built-in tools', () => {
    expect(refusal(() => respond({ previous_response_id: 'resp_1' }))).toMatchObject({ param: 'previous_response_id' });
    expect(refusal(() => respond({ conversation: 'conv_1' }))).toMatchObject({ param: 'conversation' });
    expect(refusal(() => respond({ tools: [{ type: 'web_search_preview' }] }))).toMatchObject({
      param: 'tools[0].type',
    });
    expect(refusal(() => respond({ input: [{ type: 'reasoning', summary: [] }] }))).toMatchObject({
      param: 'input[0].type',
    });
    expect(refusal(() => respond({ store: true }))).toMatchObject({ param: 'store' });
  });
});

describe('the field tables', () => {
  it('are all in docs/openai.md', () => {
    const doc = readFileSync(new URL('../../docs/openai.md', import.meta.url), 'utf8');
    for (const table of [CHAT_COMPLETION_FIELDS, RESPONSES_FIELDS, EMBEDDING_FIELDS])
      for (const field of Object.keys(table)) expect(doc, field).toContain(`| \`${field}\``);
  });

  it('spell validation paths as OpenAI params', () => {
    expect(paramOf('/messages/2/content')).toBe('messages[2].content');
    expect(paramOf('')).toBeNull();
  });
});

describe('receipt ids', () => {
  const id = '0b6f5b2e-3c1d-4a4e-9f7a-2d1c0e9b8a7f';
  it('are found in every spelling an answer carries, and nothing else passes for one', () => {
    expect([id, `chatcmpl-${id}`, `resp_${id}`].map(receiptIdOf)).toEqual([id, id, id]);
    expect(receiptIdOf('chatcmpl-abc')).toBeUndefined();
    expect(receiptIdOf(`${id}' or 1=1`)).toBeUndefined();
  });
});
