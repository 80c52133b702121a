import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { api } from '../api/client';
import type { TokenIssued } from '../api/types';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { LIVE_REFRESH_MS } from '../live';

/** For admins: the cluster's capacity and queue, users with their usage and quotas, tokens. */
export function Admin() {
  const status = useQuery({ queryKey: ['status'], queryFn: api.status, refetchInterval: LIVE_REFRESH_MS });
  const [selected, setSelected] = useState<string | null>(null);
  const capacity = status.data?.capacity;
  return (
    <section className="admin">
      <h1>Admin</h1>
      {status.isError && <p className="error" role="alert">{status.error.message}</p>}
      {capacity && (
        <>
          <h2>Capacity</h2>
          <table aria-label="capacity">
            <thead><tr><th>Accelerator</th><th>GPUs</th><th>Reserved</th><th>Free</th></tr></thead>
            <tbody>
              {Object.entries(capacity.accelerators).map(([type, a]) => (
                <tr key={type}><td>{type}</td><td>{a.capacity ?? 'unknown'}</td><td>{a.reserved}</td><td>{a.free ?? 'unknown'}</td></tr>
              ))}
            </tbody>
          </table>
          <p className="sub">
            Nodes: {capacity.nodes === null ? 'Ray cannot be read right now' : capacity.nodes.map((n) => `${n.node_id.slice(0, 8)}${n.is_head ? ' (head)' : ''}: ${n.gpus} GPUs`).join(' · ')}
          </p>
          <h2>Waiting for GPUs</h2>
          {capacity.queue.length === 0 ? (
            <p className="note">Nobody is waiting.</p>
          ) : (
            <table aria-label="queue">
              <thead><tr><th>#</th><th>Model</th><th>Accelerator</th><th>Wants</th><th>Since</th></tr></thead>
              <tbody>
                {capacity.queue.map((q) => (
                  <tr key={q.model_key}><td>{q.position}</td><td><code>{q.model_key}</code></td><td>{q.accelerator}</td><td>{q.wanted_gpus} GPUs</td><td>{q.waiting_since}</td></tr>
                ))}
              </tbody>
            </table>
          )}
          <h2>Users</h2>
          <table aria-label="users">
            <thead><tr><th>User</th><th>GPUs</th><th>Models</th><th>Quota</th><th /></tr></thead>
            <tbody>
              {capacity.users.map((u) => (
                <tr key={u.user_id} data-user={u.user_id}>
                  <td>{u.user_id}</td>
                  <td>{u.gpus}{u.max_gpus !== null && ` / ${u.max_gpus}`}</td>
                  <td>{u.models}{u.max_models !== null && ` / ${u.max_models}`}</td>
                  <td className="sub">{u.quota_source === 'user' ? 'set for this user' : 'default'}</td>
                  <td><button type="button" className="link" onClick={() => setSelected(u.user_id)}>Manage</button></td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <CreateUser onCreated={setSelected} />
      {selected && <UserPanel key={selected} userId={selected} />}
    </section>
  );
}

function CreateUser({ onCreated }: { onCreated: (userId: string) => void }) {
  const [userId, setUserId] = useState('');
  const queries = useQueryClient();
  const create = useMutation({
    mutationFn: () => api.createUser(userId.trim()),
    onSuccess: async (created) => {
      setUserId('');
      await queries.invalidateQueries({ queryKey: ['status'] });
      onCreated(created.user_id);
    },
  });
  return (
    <form className="inline" onSubmit={(e: FormEvent) => { e.preventDefault(); create.mutate(); }}>
      <label className="inline">
        New user
        <input aria-label="new user id" value={userId} onChange={(e) => setUserId(e.target.value)} placeholder="user id, e.g. alice" />
      </label>
      <button type="submit" disabled={userId.trim() === ''}>Create user</button>
      <button type="button" className="link" disabled={userId.trim() === ''} onClick={() => onCreated(userId.trim())}>Manage existing</button>
      {create.error && <p className="error" role="alert">{create.error.message}</p>}
    </form>
  );
}

/** One user's tokens (issue, revoke) and quota. */
function UserPanel({ userId }: { userId: string }) {
  const queries = useQueryClient();
  const tokens = useQuery({ queryKey: ['tokens', userId], queryFn: () => api.tokens(userId) });
  const quota = useQuery({ queryKey: ['quota', userId], queryFn: () => api.quota(userId) });
  const [issued, setIssued] = useState<TokenIssued | null>(null);
  const [revoking, setRevoking] = useState<string | null>(null);
  const issue = useMutation({ mutationFn: () => api.issueToken(userId), onSuccess: (t) => { setIssued(t); void queries.invalidateQueries({ queryKey: ['tokens', userId] }); } });
  const revoke = useMutation({ mutationFn: (tokenId: string) => api.revokeToken(userId, tokenId), onSuccess: () => queries.invalidateQueries({ queryKey: ['tokens', userId] }) });
  const failure = tokens.error ?? quota.error ?? issue.error ?? revoke.error;
  return (
    <section className="user-panel" aria-label={`user ${userId}`}>
      <h2>{userId}</h2>
      {failure && <p className="error" role="alert">{failure.message}</p>}
      <h3>Tokens</h3>
      {issued && (
        <p className="secret" data-testid="issued-token">
          New token <code>{issued.token_id}</code>: <code>{issued.token}</code> — shown this once; hand it to {userId}.
        </p>
      )}
      <button type="button" onClick={() => issue.mutate()}>Issue a token</button>
      {tokens.data && (
        <ul className="tokens">
          {tokens.data.items.map((t) => (
            <li key={t.token_id}>
              <code>{t.token_id}</code> issued {t.created_at}
              {t.revoked_at ? <span className="sub"> · revoked {t.revoked_at}</span> : <button type="button" className="link danger" onClick={() => setRevoking(t.token_id)}>Revoke</button>}
            </li>
          ))}
        </ul>
      )}
      <ConfirmDialog open={revoking !== null} title="Revoke this token?" confirmLabel="Revoke" danger onCancel={() => setRevoking(null)} onConfirm={() => { if (revoking) revoke.mutate(revoking); setRevoking(null); }}>
        Requests with token <code>{revoking}</code> are refused from now on.
      </ConfirmDialog>
      <h3>Quota</h3>
      {quota.data && <QuotaForm key={`${quota.data.max_gpus}/${quota.data.max_models}`} userId={userId} current={quota.data} />}
    </section>
  );
}

function QuotaForm({ userId, current }: { userId: string; current: { max_gpus: number | null; max_models: number | null; usage: { gpus: number; models: number } } }) {
  const queries = useQueryClient();
  const [gpus, setGpus] = useState(current.max_gpus === null ? '' : String(current.max_gpus));
  const [models, setModels] = useState(current.max_models === null ? '' : String(current.max_models));
  const limit = (text: string) => (text.trim() === '' ? null : Number(text));
  const save = useMutation({
    mutationFn: () => api.setQuota(userId, { max_gpus: limit(gpus), max_models: limit(models) }),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ['quota', userId] });
      await queries.invalidateQueries({ queryKey: ['status'] });
    },
  });
  return (
    <form className="inline" onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
      <label className="inline">Max GPUs <input aria-label="max gpus" type="number" min={0} value={gpus} onChange={(e) => setGpus(e.target.value)} placeholder="no limit" /></label>
      <label className="inline">Max models <input aria-label="max models" type="number" min={0} value={models} onChange={(e) => setModels(e.target.value)} placeholder="no limit" /></label>
      <button type="submit">Save quota</button>
      <span className="sub">uses {current.usage.gpus} GPUs, {current.usage.models} models</span>
      {save.error && <p className="error" role="alert">{save.error.message}</p>}
    </form>
  );
}
