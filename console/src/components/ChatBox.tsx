import { type FormEvent, useState } from 'react';
import { chat, type ChatMessage } from '../api/chat';

/** A chat with the model through its OpenAI endpoint, as any OpenAI client would talk to it. */
export function ChatBox({ openaiBaseUrl, model, ready }: { openaiBaseUrl: string; model: string; ready: boolean }) {
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [prompt, setPrompt] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function send(event: FormEvent) {
    event.preventDefault();
    const history: ChatMessage[] = [...messages, { role: 'user', content: prompt }];
    setMessages(history);
    setPrompt('');
    setBusy(true);
    setError(null);
    try {
      const reply = await chat(openaiBaseUrl, model, history);
      setMessages([...history, { role: 'assistant', content: reply }]);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="chat" aria-label="chat">
      <h2>Try it</h2>
      {!ready && <p className="note">The model answers once it is RUNNING.</p>}
      <ol className="messages">
        {messages.map((m, i) => (
          <li key={i} className={m.role} data-role={m.role}>{m.content}</li>
        ))}
      </ol>
      {error && <p className="error" role="alert">{error}</p>}
      <form onSubmit={send}>
        <input aria-label="message" value={prompt} onChange={(e) => setPrompt(e.target.value)} placeholder="Say something to the model" disabled={busy} />
        <button type="submit" disabled={busy || prompt.trim() === ''}>{busy ? 'Waiting…' : 'Send'}</button>
      </form>
      <p className="sub">
        <code>POST {openaiBaseUrl}/chat/completions</code> with <code>"model": "{model}"</code>
      </p>
    </section>
  );
}
