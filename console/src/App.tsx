import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, Redirect, Route, Switch } from 'wouter';
import { api, whenUnauthorized } from './api/client';
import { session } from './session';
import { Admin } from './pages/Admin';
import { ModelEditor } from './pages/ModelEditor';
import { ModelPage } from './pages/ModelPage';
import { Models } from './pages/Models';
import { SignIn } from './pages/SignIn';

export function App() {
  const [token, setToken] = useState(session.token());
  const queries = useQueryClient();
  const signOut = () => {
    session.signOut();
    queries.clear();
    setToken(null);
  };
  useEffect(() => whenUnauthorized(signOut));
  const me = useQuery({ queryKey: ['me', token], queryFn: () => api.whoAmI(), enabled: token !== null, staleTime: Infinity });

  if (token === null) {
    return (
      <SignIn
        onSignedIn={(accepted) => {
          session.signIn(accepted);
          setToken(accepted);
        }}
      />
    );
  }
  const isAdmin = me.data?.is_admin === true;
  return (
    <div className="shell">
      <header className="topbar">
        <Link href="/" className="brand">argus-serve</Link>
        <nav>
          <Link href="/">Models</Link>
          <Link href="/new">New model</Link>
          {isAdmin && <Link href="/admin">Admin</Link>}
        </nav>
        <span className="whoami" data-testid="whoami">
          {me.data ? `${me.data.user_id}${isAdmin ? ' (admin)' : ''}` : ''}
        </span>
        <button type="button" className="link" onClick={signOut}>Sign out</button>
      </header>
      <main>
        <Switch>
          <Route path="/"><Models /></Route>
          <Route path="/new"><ModelEditor /></Route>
          <Route path="/models/:key/edit">{(params) => <ModelEditor modelKey={params.key} />}</Route>
          <Route path="/models/:key">{(params) => <ModelPage modelKey={params.key} />}</Route>
          <Route path="/admin">{isAdmin ? <Admin /> : me.data ? <p className="note">The admin pages need an admin token.</p> : null}</Route>
          <Route><Redirect to="/" /></Route>
        </Switch>
      </main>
    </div>
  );
}
