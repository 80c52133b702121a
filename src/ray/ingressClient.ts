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

  /** A 1-token chat completion: the only proof that the engine really answers. */
  async answersChat(modelId: string): Promise<{ ok: boolean; detail: string }> {
    try {
      const response = await fetch(`${this.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: modelId, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1, stream: false }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (response.ok) return { ok: true, detail: 'answered' };
      return { ok: false, detail: `1-token chat completion answered ${response.status}: ${(await response.text()).slice(0, 300)}` };
    } catch (err) {
      return { ok: false, detail: `ingress unreachable: ${(err as Error).message}` };
    }
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
