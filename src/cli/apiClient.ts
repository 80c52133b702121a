import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  errorBodySchema,
  modelDetailSchema,
  modelListSchema,
  quotaViewSchema,
  requestAckSchema,
  serveClusterStatusSchema,
  tokenIssuedSchema,
  tokenListSchema,
  tokenRevokedSchema,
  userCreatedSchema,
} from '../api/contract/responseSchemas';
import { MODEL_KEY_PATTERN } from '../domain/naming';
import type { Profile } from './profile';

/** An answer the API refused, with its stable code: the CLI prints the message and exits non-zero. */
export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type ModelDetail = z.infer<typeof modelDetailSchema>;

/**
 * The API as the CLI uses it. Every answer is parsed with the same zod schemas the API answers
 * with (src/api/contract), so the two cannot drift apart unnoticed.
 */
export class ApiClient {
  constructor(private readonly profile: Profile) {}

  private async call<T>(schema: z.ZodType<T>, method: string, path: string, body?: { text: string; type: string }): Promise<T> {
    let response: Response;
    try {
      response = await fetch(new URL(path, this.profile.api_url), {
        method,
        headers: { authorization: `Bearer ${this.profile.token}`, ...(body ? { 'content-type': body.type } : {}) },
        body: body?.text,
      });
    } catch (err) {
      throw new ApiRefusal(0, 'unreachable', `the API at ${this.profile.api_url} cannot be reached: ${(err as Error).message}`);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiRefusal(response.status, 'not_json', `the API answered ${response.status} with a body that is not JSON`);
    }
    if (!response.ok) {
      const error = errorBodySchema.safeParse(json);
      if (error.success) throw new ApiRefusal(response.status, error.data.error.code, `${error.data.error.message} (${response.status} ${error.data.error.code})`);
      throw new ApiRefusal(response.status, 'unknown', `the API answered ${response.status}`);
    }
    return schema.parse(json);
  }

  apply(specFile: string) {
    const text = readFileSync(specFile, 'utf8');
    const type = /\.json$/i.test(specFile) ? 'application/json' : 'application/yaml';
    return this.call(requestAckSchema, 'POST', '/api/v2/serve/models', { text, type });
  }
  list() {
    return this.call(modelListSchema, 'GET', '/api/v2/serve/models');
  }
  get(modelKey: string) {
    return this.call(modelDetailSchema, 'GET', `/api/v2/serve/models/${encodeURIComponent(modelKey)}`);
  }
  patch(modelKey: string, body: Record<string, unknown>) {
    return this.call(requestAckSchema, 'PATCH', `/api/v2/serve/models/${encodeURIComponent(modelKey)}`, { text: JSON.stringify(body), type: 'application/json' });
  }
  remove(modelKey: string) {
    return this.call(requestAckSchema, 'DELETE', `/api/v2/serve/models/${encodeURIComponent(modelKey)}`);
  }
  status() {
    return this.call(serveClusterStatusSchema, 'GET', '/api/v2/serve/status');
  }
  createUser(userId: string) {
    return this.call(userCreatedSchema, 'POST', '/api/v2/users', { text: JSON.stringify({ user_id: userId }), type: 'application/json' });
  }
  issueToken(userId: string) {
    return this.call(tokenIssuedSchema, 'POST', `/api/v2/users/${encodeURIComponent(userId)}/tokens`);
  }
  listTokens(userId: string) {
    return this.call(tokenListSchema, 'GET', `/api/v2/users/${encodeURIComponent(userId)}/tokens`);
  }
  revokeToken(userId: string, tokenId: string) {
    return this.call(tokenRevokedSchema, 'DELETE', `/api/v2/users/${encodeURIComponent(userId)}/tokens/${encodeURIComponent(tokenId)}`);
  }
  setQuota(userId: string, quota: { max_gpus: number | null; max_models: number | null }) {
    return this.call(quotaViewSchema, 'PUT', `/api/v2/users/${encodeURIComponent(userId)}/quota`, { text: JSON.stringify(quota), type: 'application/json' });
  }

  /** A model named by its model_key, or by its public model_id or suffix among the caller's models. */
  async resolve(reference: string): Promise<ModelDetail> {
    if (MODEL_KEY_PATTERN.test(reference)) return this.get(reference);
    const { items } = await this.list();
    const found = items.filter((m) => m.model_id === reference || m.model_id_suffix === reference);
    if (found.length === 0) throw new ApiRefusal(404, 'not_found', `no model of yours is named ${reference} (argus ls lists them)`);
    if (found.length > 1) throw new ApiRefusal(409, 'ambiguous', `${reference} names ${found.length} models; use the model_key`);
    return this.get((found[0] as { model_key: string }).model_key);
  }
}
