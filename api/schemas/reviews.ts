import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from './common.js';

export const ReviewsQuery = Type.Object({
  reviewer: Type.Optional(Type.String()),
  proposalId: Type.Optional(Type.String()),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
});

export const ReviewTask = Type.Object({
  id: Type.String(),
  proposalId: Type.String(),
  round: Type.Integer(),
  prompt: Type.String(),
  candidates: Type.Array(Type.String()),
  requiredAnswers: Type.Integer(),
  answers: Type.Integer(),
  createdAt: Timestamp,
});
export type ReviewTask = Static<typeof ReviewTask>;
export const ReviewsResponse = Type.Object({ tasks: Type.Array(ReviewTask) });
export type ReviewsResponse = Static<typeof ReviewsResponse>;

export const ReviewAnswerBody = Type.Object({ choice: Type.String({ minLength: 1 }) });
export const ReviewAnswerResponse = Type.Object({
  accepted: Type.Literal(true),
  answers: Type.Integer({ description: 'answers the task has now' }),
});
export type ReviewAnswerResponse = Static<typeof ReviewAnswerResponse>;
