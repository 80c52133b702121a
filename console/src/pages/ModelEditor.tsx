import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useLocation } from 'wouter';
import { api, ApiRefusal } from '../api/client';
import { lineOfField } from '../spec/fieldLine';

const EXAMPLE = `model_id: qwen-0.5b
model_source: $HOME/common/hf/Qwen/Qwen2.5-0.5B-Instruct
num_replicas: 1
gpus_per_replica: 1
`;

/**
 * Create a model from a YAML spec, or update one: POST upserts the caller's model with the same
 * model_id. The API validates; its error is shown at the field it names.
 */
export function ModelEditor({ modelKey }: { modelKey?: string }) {
  const existing = useQuery({ queryKey: ['model', modelKey], queryFn: () => api.model(modelKey as string), enabled: modelKey !== undefined, staleTime: Infinity });
  if (modelKey !== undefined && existing.isPending) return <p className="note">Loading…</p>;
  if (existing.isError) return <p className="error" role="alert">{existing.error.message}</p>;
  return <Editor key={modelKey ?? 'new'} initial={existing.data?.resolved_spec_yaml ?? EXAMPLE} title={existing.data ? `Edit ${existing.data.model.model_id_suffix}` : 'New model'} />;
}

function Editor({ initial, title }: { initial: string; title: string }) {
  const [text, setText] = useState(initial);
  const [, navigate] = useLocation();
  const queries = useQueryClient();
  const apply = useMutation({
    mutationFn: () => api.apply(text),
    onSuccess: async (ack) => {
      await queries.invalidateQueries({ queryKey: ['models'] });
      await queries.invalidateQueries({ queryKey: ['model', ack.model_key] });
      navigate(`/models/${ack.model_key}`);
    },
  });
  const refusal = apply.error instanceof ApiRefusal ? apply.error : null;
  // The field's line is looked up in the text as submitted; edits since then may move it.
  const errorLine = refusal?.field ? lineOfField(text, refusal.field) : null;
  const lines = text.split('\n').length;

  return (
    <section className="editor">
      <h1>{title}</h1>
      <p className="note">
        A ServingSpec in YAML: <code>model_id</code>, <code>model_source</code> (a path under <code>$HOME</code> or <code>/private</code>, or a repo id such as{' '}
        <code>org/name@revision</code>), <code>num_replicas</code> or <code>autoscaling</code>, <code>gpus_per_replica</code>, and optionally <code>env</code>,{' '}
        <code>resources</code>, <code>accelerator_type</code>, <code>description</code>, <code>engine_kwargs</code>.
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          apply.mutate();
        }}
      >
        <div className="code-editor">
          <ol className="gutter" aria-hidden="true">
            {Array.from({ length: lines }, (_, i) => (
              <li key={i} className={errorLine === i + 1 ? 'error-line' : undefined}>{i + 1}</li>
            ))}
          </ol>
          <textarea
            aria-label="spec YAML"
            spellCheck={false}
            rows={Math.max(12, lines + 1)}
            value={text}
            onChange={(e) => setText(e.target.value)}
            aria-invalid={refusal !== null}
            aria-describedby={refusal ? 'spec-error' : undefined}
          />
        </div>
        {refusal && (
          <div id="spec-error" className="field-error" role="alert" data-field={refusal.field ?? ''}>
            {refusal.field && (
              <strong>
                {refusal.field}
                {errorLine !== null ? ` (line ${errorLine})` : ' (missing)'}:{' '}
              </strong>
            )}
            {refusal.message} <span className="sub">{refusal.status} {refusal.code}</span>
          </div>
        )}
        {apply.error && !refusal && <p className="error" role="alert">{apply.error.message}</p>}
        <button type="submit" className="primary" disabled={apply.isPending}>{apply.isPending ? 'Applying…' : 'Apply'}</button>
      </form>
    </section>
  );
}
