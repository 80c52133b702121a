import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Custom search attributes, registered when the Temporal server starts (scripts/services.sh).
 * In the UI: `ArgusUserId = "alice"`, `ArgusModelState = "DEPLOYING"`, ...
 */
export const USER_ID = defineSearchAttributeKey('ArgusUserId', SearchAttributeType.KEYWORD);
export const MODEL_ID = defineSearchAttributeKey('ArgusModelId', SearchAttributeType.KEYWORD);
export const MODEL_STATE = defineSearchAttributeKey('ArgusModelState', SearchAttributeType.KEYWORD);

export const SEARCH_ATTRIBUTE_NAMES = [USER_ID.name, MODEL_ID.name, MODEL_STATE.name];

/** Workflow ids follow model keys, so the UI finds a model by the key the API shows. */
export const workflowIdFor = (modelKey: string) => `model-${modelKey}`;
