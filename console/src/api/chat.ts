/** One chat turn through the OpenAI-compatible endpoint the model is served at (the same one any OpenAI client uses). */
export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export class ChatRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface ChatAnswer {
  choices?: Array<{ message?: { content?: string | null } }>;
  error?: { message?: string; code?: string | number };
}

export async function chat(openaiBaseUrl: string, model: string, messages: ChatMessage[], maxTokens = 128): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`${openaiBaseUrl.replace(/\/$/, '')}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages, max_tokens: maxTokens }),
    });
  } catch (err) {
    throw new ChatRefusal(0, `the OpenAI endpoint at ${openaiBaseUrl} cannot be reached: ${(err as Error).message}`);
  }
  const body = (await response.json().catch(() => ({}))) as ChatAnswer;
  if (!response.ok) throw new ChatRefusal(response.status, `${body.error?.message ?? 'the model did not answer'} (${response.status})`);
  return body.choices?.[0]?.message?.content ?? '';
}
