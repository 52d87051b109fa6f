// The shell: who is signed in, the navigation, and the pages. Signed-out visitors see sign-in only.
import { useEffect, useState } from "react";
import { NavLink, Navigate, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { useQueryClient } from "@tanstack/react-query";
import { whenUnauthenticated } from "./api/client";
import { loadSession, signOut, type Session } from "./api/session";
import { Failure, Loading } from "./components/ui";
import { SignIn } from "./pages/SignIn";
import { Projects } from "./pages/Projects";
import { ServicePage } from "./pages/Service";
import { BuildPage } from "./pages/Build";
import { Agents } from "./pages/Agents";
import { Deliveries } from "./pages/Deliveries";
import { SessionProvider } from "./auth/access";

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [problem, setProblem] = useState<unknown>(null);
  const navigate = useNavigate();
  const location = useLocation();
  const queries = useQueryClient();

  useEffect(() => {
    loadSession().then(setSession, setProblem);
    whenUnauthenticated(() => {
      setSession(null);
      queries.clear();
    });
  }, [queries]);

  if (problem) return <Failure error={problem} retry={() => window.location.reload()} />;
  if (session === undefined) return <Loading what="your session" />;
  if (session === null) {
    return (
      <Routes>
        <Route path="/sign-in" element={<SignIn onSignedIn={setSession} />} />
        <Route
          path="*"
          element={<Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />}
        />
      </Routes>
    );
  }

  const leave = async () => {
    await signOut();
    queries.clear();
    setSession(null);
    navigate("/sign-in");
  };

  return (
    <SessionProvider session={session}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <NavLink to="/" className="brand">
          Slipway
        </NavLink>
        <nav aria-label="Main">
          <NavLink to="/" end>
            Projects
          </NavLink>
          <NavLink to="/agents">Agents</NavLink>
          <NavLink to="/webhook-deliveries">Deliveries</NavLink>
        </nav>
        <div className="who">
          {session.user?.email && (
            <span className="muted" data-testid="signed-in-as">
              {session.user.email}
              {session.role ? ` · ${session.role}` : ""}
            </span>
          )}
          <button type="button" onClick={leave}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <Routes>
          <Route path="/" element={<Projects />} />
          <Route path="/services/:serviceId" element={<ServicePage />} />
          <Route path="/builds/:buildId" element={<BuildPage />} />
          <Route path="/agents" element={<Agents />} />
          <Route path="/webhook-deliveries" element={<Deliveries />} />
          <Route path="/sign-in" element={<Navigate to="/" replace />} />
          <Route
            path="*"
            element={
              <p>
                No such page. <NavLink to="/">Back to projects</NavLink>
              </p>
            }
          />
        </Routes>
      </main>
    </SessionProvider>
  );
}
