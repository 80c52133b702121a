/**
 * The API's answers, typed from the same zod schemas the API answers with (src/api/contract), so
 * the console and the API cannot drift apart unnoticed. Types only: nothing of the server is
 * bundled.
 */
import type { z } from 'zod';
import type { modelListSchema, tokenIssuedSchema, tokenListSchema } from '../../../src/api/contract/responseSchemas';

export type {
  ErrorBody,
  ModelDetailBody as ModelDetail,
  QuotaViewBody as QuotaView,
  RequestAckBody as RequestAck,
  ServeClusterStatusBody as ServeClusterStatus,
  ServingModelBody as ServingModel,
  WhoAmIBody as WhoAmI,
} from '../../../src/api/contract/responseSchemas';

export type ModelList = z.infer<typeof modelListSchema>;
export type ModelEvent = import('../../../src/api/contract/responseSchemas').ModelDetailBody['events'][number];
export type TokenIssued = z.infer<typeof tokenIssuedSchema>;
export type TokenList = z.infer<typeof tokenListSchema>;
