// Kysely's view of the tables in migrations/. Keep in step with the SQL by hand: a column named
// here that the SQL lacks fails the first query that reads it.
import type { ColumnType, Generated, Selectable } from "kysely";
import type { HealthCheckSettings } from "../deployments/health-check.js";

type CreatedAt = ColumnType<Date, never, never>;
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export type BuildStatus =
  "pending" | "claimed" | "cloning" | "building" | "pushing" | "completed" | "failed" | "cancelled";

export type DeploymentStatus = "pending" | "in_progress" | "succeeded" | "failed" | "cancelled";

/** Why a deployment was created (migrations/0012_deploy_operations.sql). */
export type DeploymentTrigger =
  "auto" | "manual" | "rollback" | "restart" | "scale" | "stop" | "start" | "replica_lost";

export type DeployItemStatus =
  "pending" | "claimed" | "pulling" | "starting" | "running" | "failed" | "cancelled" | "lost" | "superseded";

export interface OrganizationsTable {
  id: Generated<string>;
  name: string;
  created_at: CreatedAt;
}

/** A role in an organisation, each including the ones after it (migrations/0013_people.sql). */
export type Role = "owner" | "admin" | "developer" | "viewer";

export interface UsersTable {
  id: Generated<string>;
  name: string;
  /** Lower-cased; null for the bootstrap admin. */
  email: string | null;
  /** argon2id PHC string; null: the user cannot sign in with a password. */
  password_hash: string | null;
  disabled: Generated<boolean>;
  created_at: CreatedAt;
}

export interface MembershipsTable {
  user_id: string;
  org_id: string;
  role: Role;
  created_at: CreatedAt;
}

/** A user's API token for scripts: only its SHA-256 is stored. */
export interface ApiTokensTable {
  id: Generated<string>;
  user_id: string;
  org_id: string;
  name: string;
  token_hash: Buffer;
  prefix: string;
  created_at: CreatedAt;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface InvitationsTable {
  id: Generated<string>;
  org_id: string;
  role: Role;
  email: string | null;
  token_hash: Buffer;
  created_by: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
  accepted_at: Timestamp | null;
  accepted_by: string | null;
}

export interface AuditLogTable {
  id: Generated<string>;
  org_id: string;
  actor: string;
  action: string;
  target: string;
  details: ColumnType<unknown, string, string>;
  at: CreatedAt;
}

export interface ProjectsTable {
  id: Generated<string>;
  org_id: string;
  name: string;
  created_at: CreatedAt;
}

export interface CertificateAuthorityTable {
  id: Generated<number>;
  certificate_pem: string;
  private_key_enc: Buffer;
  created_at: CreatedAt;
}

export interface GithubAppsTable {
  id: ColumnType<string, number | string, never>;
  slug: string;
  name: string;
  owner_login: string;
  client_id: string;
  client_secret_enc: Buffer;
  webhook_secret_enc: Buffer;
  private_key_enc: Buffer;
  html_url: string;
  created_by: string;
  created_at: CreatedAt;
}

/** An environment variable of a service, or shared by a project (service_id null); value always sealed. */
export interface VariablesTable {
  id: Generated<string>;
  project_id: string;
  service_id: string | null;
  name: string;
  value_enc: Buffer;
  secret: Generated<boolean>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}

export interface SessionsTable {
  id_hash: Buffer;
  user_id: string;
  org_id: string;
  csrf_token: string;
  created_at: CreatedAt;
  expires_at: Timestamp;
}

export interface OauthStatesTable {
  state_hash: Buffer;
  purpose: "manifest" | "install";
  user_id: string;
  org_id: string;
  data: ColumnType<Record<string, unknown>, string, string>;
  expires_at: Timestamp;
}

export interface GithubInstallationsTable {
  id: ColumnType<string, number | string, never>;
  org_id: string | null;
  account_login: string;
  account_type: string;
  app_id: ColumnType<string | null, number | string | null, number | string | null>;
  repository_selection: Generated<string>;
  permissions: ColumnType<Record<string, string>, string, string>;
  suspended_at: Timestamp | null;
  deleted_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Generated<Date>;
}

export interface GithubReposTable {
  id: ColumnType<string, number | string, never>;
  installation_id: ColumnType<string | null, number | string | null, number | string | null>;
  full_name: string;
  owner: string | null;
  name: string | null;
  private: boolean;
  clone_url: string | null;
  default_branch: string | null;
  removed_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: Generated<Date>;
}

export interface GithubDeploymentsTable {
  build_id: string;
  installation_id: ColumnType<string, number | string, never>;
  repository: string;
  environment: string;
  deployment_id: ColumnType<string | null, number | string | null, number | string | null>;
  last_state: string | null;
  last_error: string | null;
  attempts: Generated<number>;
  updated_at: Generated<Date>;
}

export interface ServicesTable {
  id: Generated<string>;
  project_id: string;
  name: string;
  git_url: string;
  github_repo_id: ColumnType<string | null, number | string | null, number | string | null>;
  branch: string;
  root_dir: Generated<string>;
  container_port: number;
  replicas: Generated<number>;
  auto_deploy: Generated<boolean>;
  watch_paths: Generated<string[]>;
  build_tags: Generated<boolean>;
  build_agent_labels: ColumnType<Record<string, string>, string | undefined, string>;
  deploy_agent_labels: ColumnType<Record<string, string>, string | undefined, string>;
  /** Its generated host name is `<ingress_label>.<base domain>` (ingress/addresses.ts). */
  ingress_label: string;
  health_check: ColumnType<Partial<HealthCheckSettings>, string | undefined, string>;
  drain_seconds: Generated<number>;
  /** Set while the service is stopped: no replicas, and completing builds do not deploy it. */
  stopped_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface ServiceDomainsTable {
  host: string;
  service_id: string;
  created_at: CreatedAt;
}

export interface AgentsTable {
  id: Generated<string>;
  org_id: string;
  name: string;
  capabilities: string[];
  labels: ColumnType<Record<string, string>, string, string>;
  slots: Generated<number>;
  join_token_hash: Buffer | null;
  join_token_expires_at: Timestamp | null;
  enrolled_key_sha256: Buffer | null;
  certificate_serial: string | null;
  certificate_expires_at: Timestamp | null;
  hostname: string | null;
  enrolled_at: Timestamp | null;
  revoked_at: Timestamp | null;
  drained_at: Timestamp | null;
  last_seen_at: Timestamp | null;
  /** When it last reported its Slipway containers (deploy agents do, every few seconds). */
  inventory_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface WebhookDeliveriesTable {
  delivery_id: string;
  event: string;
  action: string | null;
  repository_id: ColumnType<string | null, number | string | null, never>;
  ref: string | null;
  head_sha: string | null;
  outcome: "queued" | "ignored" | "applied";
  reason: string;
  installation_id: ColumnType<string | null, number | string | null, never>;
  builds_created: Generated<number>;
  received_at: CreatedAt;
}

export interface WebhookRejectionsTable {
  reason: string;
  count: ColumnType<string, number, never>;
  last_at: Generated<Date>;
}

export interface BuildsTable {
  id: Generated<string>;
  service_id: string;
  commit_sha: string;
  branch: string;
  commit_message: Generated<string>;
  trigger: "push" | "manual" | "retry";
  delivery_id: string | null;
  retry_of: string | null;
  status: Generated<BuildStatus>;
  status_reason: string | null;
  attempt: Generated<number>;
  max_attempts: Generated<number>;
  claimed_by: string | null;
  lease_token: string | null;
  lease_expires_at: Timestamp | null;
  cancel_requested_at: Timestamp | null;
  claim_key: string | null;
  lease_extended: Generated<boolean>;
  resumes: Generated<number>;
  image_ref: string | null;
  image_digest: string | null;
  /** Who pressed Deploy while this build was queued or running: it deploys when it completes. */
  deploy_requested_by: string | null;
  deploy_requested_at: Timestamp | null;
  deploy_request_reason: string | null;
  created_at: CreatedAt;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export interface BuildStatusHistoryTable {
  id: Generated<string>;
  build_id: string;
  from_status: BuildStatus | null;
  to_status: BuildStatus;
  actor: string;
  reason: string | null;
  at: CreatedAt;
}

export interface BuildLogChunksTable {
  build_id: string;
  attempt: number;
  seq: number;
  data: Buffer;
  created_at: CreatedAt;
}

export interface DeploymentsTable {
  id: Generated<string>;
  service_id: string;
  /** Its place among the service's deployments, from 1. */
  sequence: number;
  build_id: string;
  image_ref: string;
  status: Generated<DeploymentStatus>;
  /** Why it failed or was cancelled. */
  reason: string | null;
  created_by: string;
  trigger: Generated<DeploymentTrigger>;
  /** The words its requester gave for it. */
  trigger_reason: string | null;
  /** How many replicas it wants (0: the service is stopped). */
  replicas: number;
  created_at: CreatedAt;
  finished_at: Timestamp | null;
}

export interface DeployWorkItemsTable {
  id: Generated<string>;
  deployment_id: string;
  replica_index: number;
  status: Generated<DeployItemStatus>;
  status_reason: string | null;
  attempt: Generated<number>;
  claimed_by: string | null;
  lease_token: string | null;
  lease_expires_at: Timestamp | null;
  claim_key: string | null;
  lease_extended: Generated<boolean>;
  resumes: Generated<number>;
  container_id: string | null;
  endpoint_host: string | null;
  endpoint_port: number | null;
  /** When every ingress confirmed a route without it: its drain period counts from here. */
  unrouted_at: Timestamp | null;
  max_attempts: Generated<number>;
  created_at: CreatedAt;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
}

export interface DeployItemStatusHistoryTable {
  id: Generated<string>;
  deploy_item_id: string;
  from_status: DeployItemStatus | null;
  to_status: DeployItemStatus;
  actor: string;
  reason: string | null;
  at: CreatedAt;
}

export interface Database {
  organizations: OrganizationsTable;
  users: UsersTable;
  memberships: MembershipsTable;
  api_tokens: ApiTokensTable;
  invitations: InvitationsTable;
  audit_log: AuditLogTable;
  projects: ProjectsTable;
  services: ServicesTable;
  service_domains: ServiceDomainsTable;
  agents: AgentsTable;
  certificate_authority: CertificateAuthorityTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_rejections: WebhookRejectionsTable;
  builds: BuildsTable;
  build_status_history: BuildStatusHistoryTable;
  build_log_chunks: BuildLogChunksTable;
  deployments: DeploymentsTable;
  deploy_work_items: DeployWorkItemsTable;
  deploy_item_status_history: DeployItemStatusHistoryTable;
  github_apps: GithubAppsTable;
  sessions: SessionsTable;
  oauth_states: OauthStatesTable;
  github_installations: GithubInstallationsTable;
  github_repos: GithubReposTable;
  github_deployments: GithubDeploymentsTable;
  variables: VariablesTable;
}

export type Build = Selectable<BuildsTable>;
export type Service = Selectable<ServicesTable>;
export type Project = Selectable<ProjectsTable>;
export type Agent = Selectable<AgentsTable>;
export type Deployment = Selectable<DeploymentsTable>;
export type DeployWorkItem = Selectable<DeployWorkItemsTable>;
export type Variable = Selectable<VariablesTable>;

/** The first organisation, and the bootstrap admin (its owner, reached with SLIPWAY_BOOTSTRAP_TOKEN). */
export const DEFAULT_ORG_ID = "00000000-0000-4000-8000-000000000001";
export const BOOTSTRAP_ADMIN_ID = "00000000-0000-4000-8000-000000000002";
