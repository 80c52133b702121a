import { type FormEvent, useState } from 'react';
import { api, ApiRefusal } from '../api/client';

/** Sign in with a token an admin issued (`argus tokens issue`); it is checked against the API first. */
export function SignIn({ onSignedIn }: { onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.whoAmI(token.trim());
      onSignedIn(token.trim());
    } catch (err) {
      setError(err instanceof ApiRefusal && err.status === 401 ? 'This token is not valid (unknown or revoked). Ask an admin for a new one.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <h1>argus-serve</h1>
      <p>Sign in with the API token an admin issued you. It is kept in this browser tab only.</p>
      <form onSubmit={submit}>
        <label>
          API token
          <input name="token" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} required />
        </label>
        <button type="submit" disabled={busy || token.trim() === ''}>Sign in</button>
        {error && <p className="error" role="alert">{error}</p>}
      </form>
    </main>
  );
}
