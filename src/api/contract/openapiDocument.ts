import { z } from 'zod';
import { createDocument, type ZodOpenApiOperationObject, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { MODEL_KEY_PATTERN, userIdSchema } from '../../domain/naming';
import { servingSpecInputSchema } from '../../domain/servingSpec';
import { BODY_LIMIT_BYTES, YAML_TYPES } from '../specBody';
import { createUserSchema, patchModelSchema, quotaSchema } from './requestSchemas';
import {
  errorBodySchema,
  healthSchema,
  modelDetailSchema,
  modelListSchema,
  quotaViewSchema,
  requestAckSchema,
  serveClusterStatusSchema,
  tokenIssuedSchema,
  tokenListSchema,
  tokenRevokedSchema,
  userCreatedSchema,
  whoAmISchema,
} from './responseSchemas';

/** What each error status means on this API; an operation lists the ones it can answer. */
const ERROR_MEANINGS = {
  400: 'Invalid YAML, JSON or spec: a field is missing, unknown or of the wrong type, or model_source is malformed',
  401: 'Missing, malformed, unknown or revoked token',
  403: "model_source outside the allowed roots, a request beyond the user's quota (quota_exceeded), or a non-admin token on an admin endpoint",
  404: 'No such model, or a model of another user (its existence is not revealed)',
  409: 'The model is being deleted, or the user already exists',
  413: `Request body larger than ${BODY_LIMIT_BYTES} bytes`,
  415: `Body is not ${YAML_TYPES.join(', ')} or application/json`,
  422: 'Resource values out of range, a model larger than the whole cluster (exceeds_cluster), an accelerator type not offered, or a repo id not staged',
  429: 'This token sent too many requests in the last minute; wait for Retry-After seconds',
  503: 'Postgres, Temporal or Ray cannot be reached right now, or a workflow did not acknowledge in time; retry (a POST of the same spec is idempotent, and the message says when the model was created already)',
} as const;
type ErrorStatus = keyof typeof ERROR_MEANINGS;

function answers(success: ZodOpenApiResponsesObject, errors: ErrorStatus[]): ZodOpenApiResponsesObject {
  const responses: ZodOpenApiResponsesObject = { ...success };
  for (const status of [401, ...errors, 429, 503] as ErrorStatus[]) {
    responses[`${status}`] = { description: ERROR_MEANINGS[status], content: { 'application/json': { schema: errorBodySchema } } };
  }
  return responses;
}

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });

const modelKeyParam = z.object({
  model_key: z.string().regex(MODEL_KEY_PATTERN).meta({ description: 'The model_key POST answered', example: 'svc-alice-20260106-123000-abcd' }),
});
const userParam = z.object({ user_id: userIdSchema });

const specExample = 'model_id: qwen-0.5b\nmodel_source: $HOME/common/hf/Qwen/Qwen2.5-0.5B-Instruct\nnum_replicas: 1\ngpus_per_replica: 1\n';

const operations = {
  createModel: {
    summary: 'Create a model, or upsert the caller\'s model with the same suffix',
    description:
      'Validates the ServingSpec, expands $HOME macros, checks path rules and hands the spec to the model\'s workflow. ' +
      'An identical re-POST answers changed=false and starts no rollout (unless the model is FAILED: that is how to retry).',
    requestBody: {
      required: true,
      content: Object.fromEntries([
        ...YAML_TYPES.map((type) => [type, { schema: servingSpecInputSchema, example: specExample }]),
        ['application/json', { schema: servingSpecInputSchema }],
      ]),
    },
    responses: answers({ 202: json(requestAckSchema, 'Accepted by the model workflow; state QUEUED') }, [400, 403, 409, 413, 415, 422]),
  },
  listModels: {
    summary: "The caller's models that are not deleted",
    responses: answers({ 200: json(modelListSchema, 'Models, oldest first') }, []),
  },
  getModel: {
    summary: 'One model with its resolved spec, events and Ray Serve status',
    requestParams: { path: modelKeyParam },
    responses: answers({ 200: json(modelDetailSchema, 'The model') }, [404]),
  },
  patchModel: {
    summary: 'Scale a model (num_replicas or autoscaling) and/or change allowlisted engine_kwargs',
    description: 'gpus_per_replica, model_source and the other spec fields change only through POST (a redeploy).',
    requestParams: { path: modelKeyParam },
    requestBody: { required: true, content: { 'application/json': { schema: patchModelSchema } } },
    responses: answers({ 200: json(requestAckSchema, 'Accepted by the model workflow') }, [400, 403, 404, 409, 413, 415, 422]),
  },
  deleteModel: {
    summary: 'Undeploy a model',
    description: 'Answers DELETING; the model is taken off the cluster and ends DELETED. Deleting a DELETED model answers DELETED.',
    requestParams: { path: modelKeyParam },
    responses: answers({ 200: json(requestAckSchema, 'Accepted; state DELETING') }, [404]),
  },
  serveStatus: {
    summary: "Ray Serve's cluster and application status (admin)",
    responses: answers({ 200: json(serveClusterStatusSchema, 'Summary of proxies, applications and deployments') }, [403]),
  },
  createUser: {
    summary: 'Create a user (admin)',
    requestBody: { required: true, content: { 'application/json': { schema: createUserSchema } } },
    responses: answers({ 201: json(userCreatedSchema, 'Created') }, [400, 403, 409, 413, 415]),
  },
  issueToken: {
    summary: 'Issue a token for a user (admin); the secret is shown once',
    requestParams: { path: userParam },
    responses: answers({ 201: json(tokenIssuedSchema, 'Issued') }, [403, 404]),
  },
  listTokens: {
    summary: "A user's tokens, without secrets (admin)",
    requestParams: { path: userParam },
    responses: answers({ 200: json(tokenListSchema, 'Tokens, newest first') }, [403, 404]),
  },
  revokeToken: {
    summary: 'Revoke a token (admin)',
    requestParams: { path: userParam.extend({ token_id: z.string() }) },
    responses: answers({ 200: json(tokenRevokedSchema, 'Revoked; the token is refused from now on') }, [403, 404]),
  },
  whoAmI: {
    summary: 'Who the token belongs to, and whether it is an admin\'s',
    description: 'Lets a client (the console, the CLI) check a token and show what its holder may do.',
    responses: answers({ 200: json(whoAmISchema, 'The token\'s user') }, []),
  },
  getQuota: {
    summary: "A user's quota and what their models reserve (admin)",
    requestParams: { path: userParam },
    responses: answers({ 200: json(quotaViewSchema, 'The quota in force (the user\'s own or the default) and the usage') }, [403, 404]),
  },
  setQuota: {
    summary: "Set a user's quota (admin)",
    description: 'Both limits at once; null is no limit. Applies to the user\'s next requests (POST, PATCH); accepted models keep what they hold.',
    requestParams: { path: userParam },
    requestBody: { required: true, content: { 'application/json': { schema: quotaSchema } } },
    responses: answers({ 200: json(quotaViewSchema, 'The quota now in force, and the usage') }, [400, 403, 404, 413, 415]),
  },
} satisfies Record<string, Omit<ZodOpenApiOperationObject, 'operationId'>>;

const op = (operationId: keyof typeof operations, tag: string): ZodOpenApiOperationObject => ({ operationId, tags: [tag], ...operations[operationId] });

export type OpenApiDocument = ReturnType<typeof buildOpenApiDocument>;

/** The OpenAPI 3.1 document of the API, generated from the same zod schemas the routes use. */
export function buildOpenApiDocument(publicApiUrl?: string) {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'argus-serve API',
      version: '3.9',
      description:
        'Serve models behind one OpenAI-compatible endpoint. Every /api/v2 endpoint needs `Authorization: Bearer <token>`; ' +
        'errors are JSON `{"error": {"code", "message"}}` with a stable code.',
    },
    servers: publicApiUrl ? [{ url: publicApiUrl }] : undefined,
    security: [{ bearer: [] }],
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'A token issued by an admin' } } },
    paths: {
      '/api/v2/me': { get: op('whoAmI', 'users') },
      '/api/v2/serve/models': { post: op('createModel', 'models'), get: op('listModels', 'models') },
      '/api/v2/serve/models/{model_key}': { get: op('getModel', 'models'), patch: op('patchModel', 'models'), delete: op('deleteModel', 'models') },
      '/api/v2/serve/status': { get: op('serveStatus', 'admin') },
      '/api/v2/users': { post: op('createUser', 'admin') },
      '/api/v2/users/{user_id}/tokens': { post: op('issueToken', 'admin'), get: op('listTokens', 'admin') },
      '/api/v2/users/{user_id}/tokens/{token_id}': { delete: op('revokeToken', 'admin') },
      '/api/v2/users/{user_id}/quota': { get: op('getQuota', 'admin'), put: op('setQuota', 'admin') },
      '/healthz': {
        get: {
          operationId: 'health',
          tags: ['operations'],
          summary: 'Whether Postgres and Temporal answer',
          security: [],
          responses: { 200: json(healthSchema, 'Healthy'), 503: json(healthSchema, 'A dependency is down') },
        },
      },
    },
  });
}
