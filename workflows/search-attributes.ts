import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Typed search attributes registered on the cluster (infra/local/paths.ts lists them for the dev server). */
export const LifecycleStageKey = defineSearchAttributeKey('LifecycleStage', SearchAttributeType.KEYWORD);
export const ProposalIdKey = defineSearchAttributeKey('ProposalId', SearchAttributeType.KEYWORD);
export const ModelNameKey = defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD);
export const DomainKey = defineSearchAttributeKey('Domain', SearchAttributeType.KEYWORD);
