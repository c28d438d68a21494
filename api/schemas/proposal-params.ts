import { Kind, Type, type TSchema } from '@sinclair/typebox';
import { PARAM_BOUNDS, type ParamBound } from '../../domain/lifecycle/param-bounds.js';

// The schema of a proposal's `params`, built from the lifecycle's bounds table so the two never
// disagree: every numeric field has its kind (integer for counts and durations) and hard bounds,
// every amount is a canonical decimal string. The protocol's own bounds (voting period, fee share
// ranges, floors, minimum durations) are judged after this, in domain/protocol/proposal-terms.ts.

function leaf(b: ParamBound): TSchema {
  if (b.kind === 'amount')
    return Type.String({
      pattern: b.positive ? '^[1-9][0-9]{0,29}$' : '^(0|[1-9][0-9]{0,29})$',
      description: 'integer base units: a decimal string without sign, exponent or leading zeros',
    });
  if (b.kind === 'integer') return Type.Integer({ minimum: b.min, maximum: b.max });
  return Type.Number({ minimum: b.min, maximum: b.max });
}

type Tree = { [k: string]: Tree | TSchema };
const isSchema = (t: Tree | TSchema): t is TSchema => Kind in t;

function objectOf(tree: Tree, description?: string): TSchema {
  const props: Record<string, TSchema> = {};
  for (const [k, v] of Object.entries(tree)) props[k] = Type.Optional(isSchema(v) ? v : objectOf(v));
  return Type.Object(props, { additionalProperties: false, ...(description ? { description } : {}) });
}

function paramsSchema(): TSchema {
  const tree: Tree = {
    collection: { keywords: Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100 }) },
    training: {
      trainer: Type.String({ minLength: 1, maxLength: 100 }),
      baseArtifactKey: Type.String({ minLength: 1, maxLength: 1024 }),
    },
  };
  for (const [path, bound] of Object.entries(PARAM_BOUNDS)) {
    const keys = path.split('.');
    const last = keys.pop() as string;
    let node = tree;
    for (const k of keys) node = node[k] ??= {};
    node[last] = leaf(bound);
  }
  return objectOf(
    tree,
    'the lifecycle parameters the proposal asks for, each of its kind within its bounds and the protocol bounds (GET /v1/protocol); protocol settings such as governance.quorum are refused',
  );
}

export const ProposalParams = paramsSchema();
