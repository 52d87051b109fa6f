import { useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { signIn, type Credentials, type Session } from "../api/session";
import { Failure } from "../components/ui";

/**
 * Signs in with an account's email and password, or (for the operator of a fresh install, and
 * automation) with the control plane's bootstrap token.
 */
export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [withToken, setWithToken] = useState(false);
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const [params] = useSearchParams();

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const credentials: Credentials = withToken ? { token } : { email, password };
      const session = await signIn(credentials);
      onSignedIn(session);
      const next = params.get("next");
      navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/", { replace: true });
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };

  const switchTo = (token: boolean) => {
    setWithToken(token);
    setError(null);
  };

  return (
    <main id="main" className="sign-in">
      <h1>Sign in to Slipway</h1>
      <form onSubmit={submit}>
        {withToken ? (
          <>
            <label htmlFor="token">Bootstrap token</label>
            <input
              id="token"
              name="token"
              type="password"
              autoComplete="off"
              required
              value={token}
              onChange={(e) => setToken(e.target.value)}
            />
            <p className="muted">The control plane&apos;s SLIPWAY_BOOTSTRAP_TOKEN (in .stack/env on the dev stack).</p>
          </>
        ) : (
          <>
            <label htmlFor="email">Email</label>
            <input
              id="email"
              name="email"
              type="email"
              autoComplete="username"
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
            <label htmlFor="password">Password</label>
            <input
              id="password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </>
        )}
        {error !== null && <Failure error={error} />}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <button type="button" className="link" onClick={() => switchTo(!withToken)}>
          {withToken ? "Sign in with an email and password" : "Sign in with the bootstrap token"}
        </button>
      </form>
    </main>
  );
}
