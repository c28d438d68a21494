/** Span attribution for generation models: build, store and match (see span-index.ts and span-match.ts). */
export {
  SPAN_INDEX_FORMAT,
  SpanIndex,
  SpanIndexBuilder,
  type SpanIndexFiles,
  type SpanIndexHeader,
  type SpanSource,
} from './span-index.js';
export {
  DEFAULT_SPAN_OPTIONS,
  attributeSpans,
  maximalSpans,
  type Span,
  type SpanAttribution,
  type SpanOptions,
} from './span-match.js';
export {
  buildSpanIndex,
  loadSpanIndex,
  promoteSpanIndex,
  spanIndexKeys,
  uploadSpanIndex,
  type SpanIndexRef,
} from './span-store.js';
export { SPAN_TOKENIZER, spanTokenIds } from './tokens.js';
