/**
 * A predictor produces its answer as events (`stream`); `predict` is the same answer gathered. One
 * path per predictor: the JSON answer is the stream collected, so both always agree.
 */
import type { Attribution } from '../embedded/influence.js';
import type { Choice, FinishReason, Prediction, PredictionEvent, ToolCall } from './prediction.js';

/**
 * The events of an answer that comes whole (a classifier's label): attribution, one delta per
 * choice, done. Computed when iteration starts, so a refusal surfaces where events are read.
 */
export async function* eventsOf(answer: () => Prediction | Promise<Prediction>): AsyncIterable<PredictionEvent> {
  const p = await answer();
  yield { type: 'attribution', attribution: p.attribution };
  for (const [i, c] of p.choices.entries()) {
    if (c.output) yield { type: 'delta', choice: i, text: c.output };
    for (const [index, t] of (c.toolCalls ?? []).entries())
      yield { type: 'delta', choice: i, toolCall: { index, id: t.id, name: t.name, argumentsDelta: t.arguments } };
  }
  yield { type: 'done', finishReasons: p.choices.map((c) => c.finishReason), usage: p.usage };
}

/** Gathers a stream into a prediction; a stream that ends without `attribution` or `done` is an error. */
export async function collect(
  events: AsyncIterable<PredictionEvent>,
  extra: Pick<Prediction, 'probabilities'> = {},
): Promise<Prediction> {
  let attribution: Attribution | undefined;
  const texts: string[] = [];
  const calls: Partial<ToolCall>[][] = [];
  let finish: FinishReason[] | undefined;
  let usage: Prediction['usage'] | undefined;
  for await (const e of events) {
    if (e.type === 'attribution') attribution = e.attribution;
    else if (e.type === 'done') ({ finishReasons: finish, usage } = e);
    else {
      if (e.text) texts[e.choice] = (texts[e.choice] ?? '') + e.text;
      if (e.toolCall) {
        const list = (calls[e.choice] ??= []);
        const call = (list[e.toolCall.index] ??= { arguments: '' });
        if (e.toolCall.id !== undefined) call.id = e.toolCall.id;
        if (e.toolCall.name !== undefined) call.name = e.toolCall.name;
        call.arguments = (call.arguments ?? '') + (e.toolCall.argumentsDelta ?? '');
      }
    }
  }
  if (!attribution || !finish || !usage) throw new Error('the model ended its answer early');
  const choices: Choice[] = finish.map((finishReason, i) => {
    const toolCalls = (calls[i] ?? []).map((c, j) => ({
      id: c.id ?? `call_${i}_${j}`,
      name: c.name ?? '',
      arguments: c.arguments ?? '',
    }));
    return { output: texts[i] ?? '', ...(toolCalls.length ? { toolCalls } : {}), finishReason };
  });
  return { output: choices[0]?.output ?? '', choices, usage, attribution, ...extra };
}
