// TypeBox schemas of people and access, shared by the public and the authenticated routes.
import { Type, type Static } from "typebox";
import type { SignedIn } from "./accounts.js";

export const RoleSchema = Type.Union([
  Type.Literal("owner"),
  Type.Literal("admin"),
  Type.Literal("developer"),
  Type.Literal("viewer"),
]);
export const Email = Type.String({ minLength: 3, maxLength: 254, pattern: "^[^\\s@]+@[^\\s@]+$" });
export const UserName = Type.String({ minLength: 1, maxLength: 100 });

export const SessionView = Type.Object({
  csrfToken: Type.String(),
  user: Type.Object({ id: Type.String(), email: Type.Union([Type.String(), Type.Null()]), name: Type.String() }),
  org: Type.Object({ id: Type.String(), name: Type.String() }),
  role: RoleSchema,
});

export const sessionView = (who: SignedIn, csrfToken: string): Static<typeof SessionView> => ({
  csrfToken,
  user: who.user,
  org: who.org,
  role: who.actor.role,
});
