import { REVISION_APP_HEADER } from './ingressApp';

/** Probes of the OpenAI-compatible Serve ingress: the user-visible half of readiness. */
export class IngressClient {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Whether `GET /v1/models` lists the model. Ray keeps listing a model whose engine died, so this alone proves nothing. */
  async listsModel(modelId: string): Promise<{ ok: boolean; detail: string }> {
    try {
      const response = await fetch(`${this.baseUrl}/v1/models`, { signal: AbortSignal.timeout(this.timeoutMs) });
      if (!response.ok) return { ok: false, detail: `GET /v1/models answered ${response.status}` };
      const body = (await response.json()) as { data?: Array<{ id?: string }> };
      const listed = (body.data ?? []).some((m) => m.id === modelId);
      return { ok: listed, detail: listed ? 'listed' : 'not listed by GET /v1/models yet' };
    } catch (err) {
      return { ok: false, detail: `ingress unreachable: ${(err as Error).message}` };
    }
  }

  /**
   * A 1-token chat completion: the only proof that the engine really answers. Given a revision's
   * app, the ingress sends it there rather than to the model's routed revision.
   */
  async answersChat(modelId: string, revisionApp?: string): Promise<{ ok: boolean; detail: string }> {
    try {
      const response = await fetch(`${this.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(revisionApp ? { [REVISION_APP_HEADER]: revisionApp } : {}) },
        body: JSON.stringify({ model: modelId, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, stream: false }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (response.ok) return { ok: true, detail: 'answered' };
      return { ok: false, detail: `1-token chat completion answered ${response.status}: ${(await response.text()).slice(0, 300)}` };
    } catch (err) {
      return { ok: false, detail: `ingress unreachable: ${(err as Error).message}` };
    }
  }

  /**
   * Whether the ingress routes the model to `appName` (its `GET /argus/routes`). Asked three
   * times, since each answer comes from one ingress replica and each takes new routes on its own.
   */
  async routesModelTo(modelId: string, appName: string): Promise<{ ok: boolean; detail: string }> {
    for (let i = 0; i < 3; i++) {
      try {
        const response = await fetch(`${this.baseUrl}/argus/routes`, { signal: AbortSignal.timeout(this.timeoutMs) });
        if (!response.ok) return { ok: false, detail: `GET /argus/routes answered ${response.status}` };
        const body = (await response.json()) as { models?: Record<string, string> };
        const routed = body.models?.[modelId];
        if (routed !== appName) return { ok: false, detail: `the ingress still routes the model to ${routed ?? 'nothing'}, not ${appName}` };
      } catch (err) {
        return { ok: false, detail: `ingress unreachable: ${(err as Error).message}` };
      }
    }
    return { ok: true, detail: 'routed' };
  }

  /** One engine health probe (`GET <baseUrl><path>`, `{model}` filled in): healthy means 2xx. */
  async answersProbe(baseUrl: string, path: string, modelId: string): Promise<{ ok: boolean; detail: string }> {
    const resolved = path.split('{model}').join(encodeURIComponent(modelId));
    try {
      const response = await fetch(`${baseUrl}${resolved}`, { signal: AbortSignal.timeout(this.timeoutMs) });
      await response.arrayBuffer();
      if (response.ok) return { ok: true, detail: 'answered' };
      return { ok: false, detail: `engine probe GET ${resolved} answered ${response.status}` };
    } catch (err) {
      return { ok: false, detail: `engine probe GET ${resolved} failed: ${(err as Error).message}` };
    }
  }
}
