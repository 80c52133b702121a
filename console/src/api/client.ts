import { session } from '../session';
import type { ErrorBody, ModelDetail, ModelList, QuotaView, RequestAck, ServeClusterStatus, TokenIssued, TokenList, WhoAmI } from './types';

/** An answer the API refused, with its stable code and, for a spec, the field at fault. */
export class ApiRefusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Called when the API says the token is no good any more (revoked, or the server restarted with another admin token). */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

async function call<T>(method: string, path: string, body?: { text: string; type: string }, token = session.token()): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token ?? ''}`, ...(body ? { 'content-type': body.type } : {}) },
      body: body?.text,
    });
  } catch (err) {
    throw new ApiRefusal(0, 'unreachable', `the API cannot be reached: ${(err as Error).message}`);
  }
  const json: unknown = await response.json().catch(() => null);
  if (!response.ok) {
    const error = (json as ErrorBody | null)?.error;
    if (response.status === 401 && token === session.token()) onUnauthorized();
    throw new ApiRefusal(response.status, error?.code ?? 'unknown', error?.message ?? `the API answered ${response.status}`, error?.field);
  }
  return json as T;
}

const json = (value: unknown) => ({ text: JSON.stringify(value), type: 'application/json' });
const model = (key: string) => `/api/v2/serve/models/${encodeURIComponent(key)}`;
const user = (id: string) => `/api/v2/users/${encodeURIComponent(id)}`;

/** The public API, as the console uses it (the same endpoints the CLI and curl use). */
export const api = {
  whoAmI: (token?: string) => call<WhoAmI>('GET', '/api/v2/me', undefined, token),
  models: () => call<ModelList>('GET', '/api/v2/serve/models'),
  model: (key: string) => call<ModelDetail>('GET', model(key)),
  apply: (yaml: string) => call<RequestAck>('POST', '/api/v2/serve/models', { text: yaml, type: 'application/yaml' }),
  scale: (key: string, replicas: number) => call<RequestAck>('PATCH', model(key), json({ num_replicas: replicas })),
  remove: (key: string) => call<RequestAck>('DELETE', model(key)),
  status: () => call<ServeClusterStatus>('GET', '/api/v2/serve/status'),
  createUser: (userId: string) => call<{ user_id: string }>('POST', '/api/v2/users', json({ user_id: userId })),
  tokens: (userId: string) => call<TokenList>('GET', `${user(userId)}/tokens`),
  issueToken: (userId: string) => call<TokenIssued>('POST', `${user(userId)}/tokens`),
  revokeToken: (userId: string, tokenId: string) => call<{ token_id: string }>('DELETE', `${user(userId)}/tokens/${encodeURIComponent(tokenId)}`),
  quota: (userId: string) => call<QuotaView>('GET', `${user(userId)}/quota`),
  setQuota: (userId: string, quota: { max_gpus: number | null; max_models: number | null }) => call<QuotaView>('PUT', `${user(userId)}/quota`, json(quota)),
};
