// Who is signed in, for every page, and what their role lets them do. The API enforces roles on
// every route; the UI only hides what would be refused, so a viewer is not offered a Deploy button.
// The order matches control-plane/src/auth/access.ts.
import { createContext, useContext, type ReactNode } from "react";
import type { Session } from "../api/session";

export type Role = "viewer" | "developer" | "admin" | "owner";

const ROLES: readonly Role[] = ["viewer", "developer", "admin", "owner"];

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ session, children }: { session: Session; children: ReactNode }) {
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export function useSession(): Session | null {
  return useContext(SessionContext);
}

/**
 * Whether the signed-in person's role includes `needed`. A session without a stated role (the
 * bootstrap token on an older control plane) is the bootstrap owner.
 */
export function useCan(needed: Role): boolean {
  const role = (useSession()?.role ?? "owner") as Role;
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** Renders its children only for people whose role includes `role`. */
export function Can({ role, children }: { role: Role; children: ReactNode }) {
  return useCan(role) ? <>{children}</> : null;
}
