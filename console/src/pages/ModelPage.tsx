import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { api, ApiRefusal } from '../api/client';
import type { ModelDetail, ServingModel } from '../api/types';
import { ChatBox } from '../components/ChatBox';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { EventTimeline } from '../components/EventTimeline';
import { StateBadge } from '../components/StateBadge';
import { ago, LIVE_REFRESH_MS, replicaText } from '../live';

/** One model: what it is, how it is doing, why it failed, what happened to it; scale, delete, chat. */
export function ModelPage({ modelKey }: { modelKey: string }) {
  const detail = useQuery({ queryKey: ['model', modelKey], queryFn: () => api.model(modelKey), refetchInterval: LIVE_REFRESH_MS });
  if (detail.isPending) return <p className="note">Loading…</p>;
  if (detail.isError) {
    const notFound = detail.error instanceof ApiRefusal && detail.error.status === 404;
    return (
      <p className="error" role="alert">
        {notFound ? `No model ${modelKey} of yours.` : detail.error.message} <Link href="/">Back to your models</Link>
      </p>
    );
  }
  const { model, resolved_spec_yaml: specYaml, events, serve_status: serve } = detail.data;
  const serving = model.state === 'RUNNING' || model.state === 'DEGRADED';
  return (
    <section className="model">
      <div className="heading">
        <h1>{model.model_id_suffix}</h1>
        <StateBadge state={model.state} />
      </div>
      {model.error_summary && (
        <div className="error-summary" role="alert" data-testid="error-summary">
          <strong>{model.state === 'FAILED' ? 'Why it failed' : 'What is wrong'}</strong>
          <p>{model.error_summary}</p>
        </div>
      )}
      {model.admission && <p className="note" data-testid="admission">Waiting in line (#{model.admission.position}): {model.admission.reason}</p>}
      <div className="columns">
        <div>
          <dl className="facts">
            <dt>Model id</dt><dd><code>{model.model_id}</code></dd>
            <dt>Model key</dt><dd><code>{model.model_key}</code></dd>
            <dt>Source</dt><dd><code>{model.model_source}</code>{model.model_repo && <span className="sub"> ({model.model_repo.repo_id}@{model.model_repo.revision})</span>}</dd>
            <dt>Replicas</dt>
            <dd data-testid="replicas">
              {servedReplicas(model, serve)} running
              {model.autoscaling && <span className="sub"> · autoscaled {model.autoscaling.min_replicas}–{model.autoscaling.max_replicas}</span>}
              {model.replicas.note && <div className="sub">{model.replicas.note}</div>}
            </dd>
            <dt>GPUs</dt><dd>{model.gpus_per_replica} per replica, {model.total_gpus} in all{model.accelerator_type && ` (${model.accelerator_type})`}</dd>
            <dt>Last healthy</dt><dd>{ago(model.last_healthy_at)}</dd>
            <dt>Ray</dt><dd className="sub">{serve.app_status}{serve.deployment_status && ` / ${serve.deployment_status}`}{serve.message && ` — ${serve.message}`}</dd>
          </dl>
          <Actions model={model} />
          <h2>Resolved spec</h2>
          <pre className="spec" data-testid="resolved-spec">{specYaml}</pre>
        </div>
        <div>
          <ChatBox openaiBaseUrl={model.endpoint.openai_base_url} model={model.endpoint.model} ready={serving} />
          <h2>Events</h2>
          <EventTimeline events={events} />
        </div>
      </div>
    </section>
  );
}

/**
 * Running/target replicas: Ray's own count when Ray has the model's app (read live through the
 * API's status cache), else what the reconciler last saw.
 */
function servedReplicas(model: ServingModel, serve: ModelDetail['serve_status']): string {
  // A failed or deleted model has been taken off the cluster; Ray's last word may lag by a read.
  if (model.state === 'FAILED' || model.state === 'DELETED') return `0/${model.num_replicas} (not on the cluster)`;
  const rayKnows = serve.app_status !== 'NOT_DEPLOYED' && serve.app_status !== 'UNKNOWN';
  return rayKnows ? `${serve.running_replicas}/${serve.target_replicas}` : replicaText(model.replicas);
}

/** Scale and delete, each behind a confirmation; edit goes to the YAML editor. */
function Actions({ model }: { model: ServingModel }) {
  const queries = useQueryClient();
  const [, navigate] = useLocation();
  const [replicas, setReplicas] = useState(String(model.num_replicas));
  const [asking, setAsking] = useState<'scale' | 'delete' | null>(null);
  const refresh = () => queries.invalidateQueries({ queryKey: ['model', model.model_key] });
  const scale = useMutation({ mutationFn: (n: number) => api.scale(model.model_key, n), onSuccess: refresh });
  const remove = useMutation({
    mutationFn: () => api.remove(model.model_key),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ['models'] });
      navigate('/');
    },
  });
  const wanted = Number(replicas);
  const validCount = Number.isInteger(wanted) && wanted >= 0;
  const gone = model.state === 'DELETING' || model.state === 'DELETED';
  const failure = scale.error ?? remove.error;

  return (
    <div className="actions-panel">
      {model.autoscaling ? (
        <p className="sub">Autoscaled between {model.autoscaling.min_replicas} and {model.autoscaling.max_replicas} replicas; change the range by editing the spec.</p>
      ) : (
        <label className="inline">
          Replicas
          <input aria-label="replicas" type="number" min={0} value={replicas} onChange={(e) => setReplicas(e.target.value)} disabled={gone} />
          <button type="button" disabled={gone || !validCount || wanted === model.num_replicas} onClick={() => setAsking('scale')}>Scale</button>
        </label>
      )}
      <Link href={`/models/${model.model_key}/edit`} className="button">Edit spec</Link>
      <button type="button" className="danger" disabled={gone} onClick={() => setAsking('delete')}>Delete</button>
      {failure && <p className="error" role="alert">{failure.message}</p>}
      <ConfirmDialog
        open={asking === 'scale'}
        title={`Scale ${model.model_id_suffix}?`}
        confirmLabel={`Scale to ${wanted}`}
        onCancel={() => setAsking(null)}
        onConfirm={() => {
          setAsking(null);
          scale.mutate(wanted);
        }}
      >
        From {model.num_replicas} to {wanted} replicas ({wanted * model.gpus_per_replica} GPUs). Requests keep being served while it changes.
      </ConfirmDialog>
      <ConfirmDialog
        open={asking === 'delete'}
        title={`Delete ${model.model_id_suffix}?`}
        confirmLabel="Delete"
        danger
        onCancel={() => setAsking(null)}
        onConfirm={() => {
          setAsking(null);
          remove.mutate();
        }}
      >
        <code>{model.model_id}</code> stops answering and its GPUs are freed. This cannot be undone.
      </ConfirmDialog>
    </div>
  );
}
