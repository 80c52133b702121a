/**
 * The API's answers, typed from the same zod schemas the API answers with (src/api/contract), so
 * the console and the API cannot drift apart unnoticed. Types only: nothing of the server is
 * bundled.
 */
export type {
  ErrorBody,
  ModelDetailBody as ModelDetail,
  QuotaViewBody as QuotaView,
  RequestAckBody as RequestAck,
  ServeClusterStatusBody as ServeClusterStatus,
  ServingModelBody as ServingModel,
  WhoAmIBody as WhoAmI,
} from '../../../src/api/contract/responseSchemas';

export interface ModelList {
  items: import('../../../src/api/contract/responseSchemas').ServingModelBody[];
  openai_base_url: string;
}
export type ModelEvent = import('../../../src/api/contract/responseSchemas').ModelDetailBody['events'][number];

export interface TokenIssued {
  user_id: string;
  token_id: string;
  token: string;
}
export interface TokenList {
  items: Array<{ token_id: string; created_at: string; revoked_at: string | null }>;
}
