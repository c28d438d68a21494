/**
 * What the stand-in upstream answers to a chat completion, as pieces in the order a model emits
 * them: per choice, text tokens (free generation, or a JSON document when a response format asks
 * for one) or a tool call whose arguments stream as JSON tokens, then a finish reason. Stop strings
 * and max_tokens are applied as vLLM applies them; usage counts the tokens read and generated.
 */
import { textTokens } from '../../serving/tokens.js';
import { EOS, type NgramModel, type SampleOptions } from './ngram-model.js';
import { seededRng, type Rng } from './rng.js';
import { fillSchema, nameWords, type Schema } from './schema-filler.js';

export interface StandInTool {
  name: string;
  description?: string;
  parameters?: Schema;
}

export interface StandInMessage {
  role: string;
  content: string;
  toolCalls?: { id: string; name: string; arguments: string }[];
}

export interface StandInRequest {
  messages: StandInMessage[];
  n: number;
  maxTokens: number;
  temperature: number;
  topP: number;
  stop: string[];
  seed: number;
  tools: StandInTool[];
  toolChoice: 'auto' | 'none' | 'required' | { name: string };
  responseFormat: { type: 'text' } | { type: 'json_object' } | { type: 'json_schema'; schema: Schema };
}

export type Piece =
  | { choice: number; text: string }
  | { choice: number; toolCall: { id: string; name: string } }
  | { choice: number; argumentsDelta: string }
  | { choice: number; finish: 'stop' | 'length' | 'tool_calls' };

/** Longest prose a JSON field gets. */
const PROSE_TOKENS = 40;

function stem(w: string): string {
  return w.length > 4 ? w.slice(0, 5) : w;
}

function contentWords(s: string): Set<string> {
  return new Set(
    nameWords(s)
      .filter((w) => w.length > 2)
      .map(stem),
  );
}

/** The tool the model calls this turn, if any (tool_choice decides; `auto` calls one the user's words point at). */
export function chooseTool(req: Pick<StandInRequest, 'tools' | 'toolChoice' | 'messages'>): StandInTool | undefined {
  const { tools, toolChoice } = req;
  if (!tools.length || toolChoice === 'none') return undefined;
  if (typeof toolChoice === 'object') return tools.find((t) => t.name === toolChoice.name);
  const last = req.messages[req.messages.length - 1];
  // With the tool's result in hand, the model answers in words.
  if (toolChoice === 'auto' && last?.role === 'tool') return undefined;
  const asked = contentWords(lastUser(req.messages));
  let best: { tool: StandInTool; score: number } | undefined;
  for (const tool of tools) {
    const props = Object.entries((tool.parameters?.properties ?? {}) as Record<string, Schema>)
      .map(([k, v]) => `${k} ${typeof v.description === 'string' ? v.description : ''}`)
      .join(' ');
    const described = contentWords(`${tool.name} ${tool.description ?? ''} ${props}`);
    const score = [...asked].filter((w) => described.has(w)).length;
    if (!best || score > best.score) best = { tool, score };
  }
  if (toolChoice === 'required') return best?.tool ?? tools[0];
  return best && best.score > 0 ? best.tool : undefined;
}

function lastUser(messages: readonly StandInMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]!.role === 'user') return messages[i]!.content;
  return '';
}

/** The user's words, latest first: what arguments and answers are drawn from. */
function askedText(messages: readonly StandInMessage[]): string {
  return messages
    .filter((m) => m.role === 'user')
    .map((m) => m.content)
    .reverse()
    .join('\n');
}

/** Tool results after the latest user message: an answer may quote them. */
function toolResults(messages: readonly StandInMessage[]): string[] {
  const out: string[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role !== 'user'; i--)
    if (messages[i]!.role === 'tool') out.unshift(messages[i]!.content);
  return out;
}

/** Tokens the model reads: every turn's text and tool calls, the tool definitions and the response schema. */
export function promptTokens(req: StandInRequest): number {
  const parts = req.messages.flatMap((m) => [m.content, ...(m.toolCalls ?? []).map((t) => `${t.name}${t.arguments}`)]);
  if (req.tools.length) parts.push(JSON.stringify(req.tools));
  if (req.responseFormat.type === 'json_schema') parts.push(JSON.stringify(req.responseFormat.schema));
  return parts.reduce((n, p) => n + textTokens(p).length, 0);
}

function longestStopPrefix(text: string, stop: readonly string[]): number {
  let keep = 0;
  for (const s of stop)
    for (let k = Math.min(s.length - 1, text.length); k > keep; k--)
      if (text.endsWith(s.slice(0, k))) {
        keep = k;
        break;
      }
  return keep;
}

/**
 * The pieces of one completion; `counted.completion` grows by one per generated token. The
 * generator is synchronous: the server decides how fast the pieces go out.
 */
export function* complete(model: NgramModel, req: StandInRequest, counted: { completion: number }): Generator<Piece> {
  const rng: Rng = seededRng(req.seed);
  const sampling: SampleOptions = { temperature: req.temperature, topP: req.topP, rng };
  const asked = askedText(req.messages);
  const results = toolResults(req.messages);
  const context = [lastUser(req.messages), ...results].join('\n');
  const prose = () => {
    const d = model.decoder(context, results);
    let out = '';
    for (let i = 0; i < PROSE_TOKENS; i++) {
      const t = d.next(sampling).token;
      if (t === EOS) break;
      out += t;
    }
    return out.trim();
  };
  for (let choice = 0; choice < req.n; choice++) {
    const tool = chooseTool(req);
    if (tool) {
      const id = `call_${Math.floor(rng() * 2 ** 48).toString(36)}`;
      yield { choice, toolCall: { id, name: tool.name } };
      const args = JSON.stringify(
        fillSchema(tool.parameters ?? { type: 'object', properties: {} }, { text: asked, prose }),
      );
      let emitted = 0;
      for (const t of textTokens(args)) {
        if (emitted >= req.maxTokens) {
          yield { choice, finish: 'length' };
          return;
        }
        counted.completion++;
        emitted++;
        yield { choice, argumentsDelta: t };
      }
      yield { choice, finish: 'tool_calls' };
      continue;
    }
    const format = req.responseFormat;
    let tokens: Iterator<string>;
    if (format.type === 'text') {
      const d = model.decoder(context, results);
      tokens = (function* () {
        for (;;) yield d.next(sampling).token;
      })();
    } else {
      const schema =
        format.type === 'json_schema'
          ? format.schema
          : { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } };
      tokens = [...textTokens(JSON.stringify(fillSchema(schema, { text: asked, prose }))), EOS][Symbol.iterator]();
    }
    yield* emitText(choice, tokens, req, counted);
  }
}

/** Text tokens up to EOS, max_tokens or a stop string (never sent: text that could begin one is held back). */
function* emitText(
  choice: number,
  tokens: Iterator<string>,
  req: StandInRequest,
  counted: { completion: number },
): Generator<Piece> {
  let text = '';
  let sent = 0;
  for (let generated = 0; ; generated++) {
    if (generated >= req.maxTokens) {
      if (text.length > sent) yield { choice, text: text.slice(sent) };
      yield { choice, finish: 'length' };
      return;
    }
    const t = tokens.next().value as string | undefined;
    if (t === undefined || t === EOS) {
      if (text.length > sent) yield { choice, text: text.slice(sent) };
      yield { choice, finish: 'stop' };
      return;
    }
    counted.completion++;
    text += generated === 0 ? t.trimStart() : t;
    const hit = req.stop.map((s) => text.indexOf(s)).filter((i) => i >= 0);
    if (hit.length) {
      const at = Math.min(...hit);
      if (at > sent) yield { choice, text: text.slice(sent, at) };
      yield { choice, finish: 'stop' };
      return;
    }
    const safe = text.length - longestStopPrefix(text, req.stop);
    if (safe > sent) {
      yield { choice, text: text.slice(sent, safe) };
      sent = safe;
    }
  }
}
