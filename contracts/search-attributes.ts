import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes every Commons workflow sets. The local dev server registers exactly
 * these; infra/k8s/register-search-attributes.sh does the same in production (a manifest test
 * keeps the two in step).
 */
export const LifecycleStageKey = defineSearchAttributeKey('LifecycleStage', SearchAttributeType.KEYWORD);
export const ProposalIdKey = defineSearchAttributeKey('ProposalId', SearchAttributeType.KEYWORD);
export const ModelNameKey = defineSearchAttributeKey('ModelName', SearchAttributeType.KEYWORD);
export const DomainKey = defineSearchAttributeKey('Domain', SearchAttributeType.KEYWORD);
/** A served model's entity workflow: `serving` or `retired`. */
export const ModelStatusKey = defineSearchAttributeKey('ModelStatus', SearchAttributeType.KEYWORD);
/**
 * How a lifecycle ended (its final status: serving, rejected, vetoed, expired, withdrawn,
 * failed-gate, failed, cancelled), set once as it ends: Temporal shows most of these as
 * "Completed", so the UI filters on this instead (`LifecycleOutcome = "vetoed"`).
 */
export const LifecycleOutcomeKey = defineSearchAttributeKey('LifecycleOutcome', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_KEYS: readonly { name: string; type: SearchAttributeType }[] = [
  LifecycleStageKey,
  ProposalIdKey,
  ModelNameKey,
  DomainKey,
  ModelStatusKey,
  LifecycleOutcomeKey,
];

/** The type names the `temporal` CLI takes (`--search-attribute Name=Keyword`). */
export const CLI_TYPE_NAMES: Record<SearchAttributeType, string> = {
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};
