import { describe, expect, it } from 'vitest';
import {
  recordResponse,
  recordText,
  scoringText,
  validateRecord,
  validateSpec,
  validateSpecForTask,
  type DatanetSpec,
} from './datanet-spec.js';

const CHAT: DatanetSpec = { fields: [{ name: 'messages', type: 'messages', required: true }], textField: 'messages' };
const PAIR: DatanetSpec = {
  fields: [
    { name: 'prompt', type: 'string', required: true },
    { name: 'response', type: 'string', required: true },
  ],
  textField: 'prompt',
  responseField: 'response',
};

describe('generation Datanet specs', () => {
  it('accepts a chat (messages) spec and a prompt/response spec, and fits them to the generation task only', () => {
    expect(validateSpec(CHAT)).toEqual([]);
    expect(validateSpec(PAIR)).toEqual([]);
    expect(validateSpecForTask(CHAT, 'generation', [])).toEqual([]);
    expect(validateSpecForTask(PAIR, 'generation', [])).toEqual([]);
    expect(validateSpecForTask(CHAT, 'classification', ['a', 'b'])).toEqual([
      'spec.textField may be a messages field only in a generation Datanet',
    ]);
    expect(validateSpecForTask(PAIR, 'classification', ['a', 'b'])).toEqual([
      'spec.responseField applies to generation Datanets only',
    ]);
    const textOnly: DatanetSpec = { fields: [{ name: 'text', type: 'string' }], textField: 'text' };
    expect(validateSpecForTask(textOnly, 'generation', [])[0]).toMatch(/needs a response/);
    expect(validateSpecForTask(textOnly, 'classification', ['a'])).toEqual([
      'a classification proposal needs at least two labels',
    ]);
  });

  it('refuses a responseField that is not a declared string field distinct from the text', () => {
    expect(validateSpec({ ...PAIR, responseField: 'nope' })).toEqual([
      'spec.responseField "nope" is not a declared field',
    ]);
    expect(validateSpec({ ...PAIR, responseField: 'prompt' })).toEqual([
      'spec.responseField must differ from spec.textField',
    ]);
  });

  it('reads a chat record as prompt (turns before the reply) and response (the final assistant reply)', () => {
    const payload = {
      messages: [
        { role: 'system', content: 'You are a careful nurse.' },
        { role: 'user', content: 'How do I treat a burn?' },
        { role: 'assistant', content: 'Cool it under running water for twenty minutes.' },
      ],
    };
    expect(validateRecord(CHAT, payload)).toEqual({ ok: true });
    expect(recordText(CHAT, payload)).toBe('You are a careful nurse.\nHow do I treat a burn?');
    expect(recordResponse(CHAT, payload)).toBe('Cool it under running water for twenty minutes.');
    expect(scoringText(CHAT, payload)).toContain('running water');
    expect(recordResponse(PAIR, { prompt: 'q?', response: 'an answer' })).toBe('an answer');
  });

  it('refuses malformed chats with every reason: bad roles, blank content, no reply, extra keys', () => {
    const v = validateRecord(CHAT, {
      messages: [
        { role: 'wizard', content: 'x' },
        { role: 'user', content: '  ', extra: 1 },
      ],
    });
    expect(v.ok).toBe(false);
    if (v.ok) return;
    expect(v.errors).toEqual([
      'field "messages"[0]: role must be one of system, user, assistant',
      'field "messages"[1]: unknown property "extra"',
      'field "messages"[1]: content must be non-blank text',
      `field "messages": a chat record needs at least one user message and must end with the assistant's reply`,
    ]);
    expect(validateRecord(CHAT, { messages: [] })).toMatchObject({ ok: false });
  });

  it('applies the record size cap to chat transcripts (no cheap bound is trusted for arrays)', () => {
    const big = 'word '.repeat(20_000);
    const v = validateRecord(
      { ...CHAT, maxRecordBytes: 10_000 },
      {
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: big },
        ],
      },
    );
    expect(v.ok).toBe(false);
  });
});
