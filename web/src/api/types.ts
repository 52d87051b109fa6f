// Names for the API's answers, taken from the generated schema (never written by hand).
import type { paths } from "./schema";

type Ok<Op> = Op extends { responses: { 200: { content: { "application/json": infer T } } } } ? T : never;
type Item<T> = T extends (infer I)[] ? I : never;

export type Project = Item<Ok<paths["/api/projects"]["get"]>>;
export type Service = Ok<paths["/api/services/{serviceId}"]["get"]>;
export type Build = Ok<paths["/api/builds/{buildId}"]["get"]>;
export type BuildSummary = Item<Ok<paths["/api/builds"]["get"]>>;
export type Deployment = Item<Ok<paths["/api/services/{serviceId}/deployments"]["get"]>>;
export type Agent = Item<Ok<paths["/api/agents"]["get"]>>;
export type Delivery = Item<Ok<paths["/api/webhook-deliveries"]["get"]>>;

export const TERMINAL_BUILD = ["completed", "failed", "cancelled"];
export const TERMINAL_DEPLOYMENT = ["succeeded", "failed", "cancelled"];
