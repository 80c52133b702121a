import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api } from '../api/client';
import { StateBadge } from '../components/StateBadge';
import { ago, LIVE_REFRESH_MS, replicaText } from '../live';

/** The signed-in user's models (an admin sees every user's), refreshed live. */
export function Models() {
  const list = useQuery({ queryKey: ['models'], queryFn: api.models, refetchInterval: LIVE_REFRESH_MS });
  if (list.isPending) return <p className="note">Loading models…</p>;
  if (list.isError) return <p className="error" role="alert">{list.error.message}</p>;
  const { items, openai_base_url: baseUrl } = list.data;
  return (
    <section>
      <div className="heading">
        <h1>Models</h1>
        <Link href="/new" className="button primary">New model</Link>
      </div>
      <p className="note">
        OpenAI endpoint: <code>{baseUrl}</code>. Call it with any OpenAI client and a model's <code>model_id</code>.
      </p>
      {items.length === 0 ? (
        <p className="empty">No models yet. <Link href="/new">Create one from a YAML spec.</Link></p>
      ) : (
        <table className="models" aria-label="models">
          <thead>
            <tr><th>Model</th><th>State</th><th>Replicas</th><th>GPUs</th><th>Endpoint model</th><th>Updated</th></tr>
          </thead>
          <tbody>
            {items.map((m) => (
              <tr key={m.model_key} data-model-key={m.model_key}>
                <td>
                  <Link href={`/models/${m.model_key}`}>{m.model_id_suffix}</Link>
                  <div className="sub">{m.user_id} · {m.description ?? m.model_source}</div>
                </td>
                <td>
                  <StateBadge state={m.state} />
                  {m.admission && <div className="sub">{m.admission.reason}</div>}
                  {m.error_summary && <div className="sub bad-text" title={m.error_summary}>{m.error_summary.length > 80 ? `${m.error_summary.slice(0, 79)}…` : m.error_summary}</div>}
                </td>
                <td data-testid="replicas">{replicaText(m.replicas)}</td>
                <td>{m.total_gpus}</td>
                <td><code>{m.endpoint.model}</code></td>
                <td>{ago(m.updated_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
