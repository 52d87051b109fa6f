-- Slipway's first schema. Postgres is the single source of truth: every state the system can be in
-- is a row here, and every transition of a build is a guarded UPDATE plus a history row.

CREATE TABLE organizations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL UNIQUE,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Until the dashboard brings accounts there is one default organisation and one bootstrap admin.
CREATE TABLE users (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES organizations(id),
  name        text NOT NULL,
  role        text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name)
);

INSERT INTO organizations (id, name) VALUES ('00000000-0000-4000-8000-000000000001', 'default');
INSERT INTO users (id, org_id, name, role)
  VALUES ('00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000001', 'bootstrap-admin', 'admin');

CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  actor       text NOT NULL,
  action      text NOT NULL,
  target      text NOT NULL,
  details     jsonb NOT NULL DEFAULT '{}',
  at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES organizations(id),
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name)
);

CREATE TABLE github_installations (
  id            bigint PRIMARY KEY,            -- GitHub's installation id
  org_id        uuid NOT NULL REFERENCES organizations(id),
  account_login text NOT NULL,
  account_type  text NOT NULL,
  suspended_at  timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE github_repos (
  id              bigint PRIMARY KEY,          -- GitHub's repository id
  installation_id bigint REFERENCES github_installations(id) ON DELETE SET NULL,
  full_name       text NOT NULL,
  private         boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE services (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id      uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  name            text NOT NULL,
  git_url         text NOT NULL,                -- clone URL, never with credentials in it
  github_repo_id  bigint,                       -- pushes to this repository id build the service
  branch          text NOT NULL,
  root_dir        text NOT NULL DEFAULT '',
  container_port  integer NOT NULL CHECK (container_port BETWEEN 1 AND 65535),
  replicas        integer NOT NULL DEFAULT 1 CHECK (replicas BETWEEN 1 AND 64),
  auto_deploy     boolean NOT NULL DEFAULT true,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (project_id, name)
);
CREATE INDEX services_repo_branch ON services (github_repo_id, branch) WHERE github_repo_id IS NOT NULL;

CREATE TABLE agents (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id                uuid NOT NULL REFERENCES organizations(id),
  name                  text NOT NULL,
  capabilities          text[] NOT NULL CHECK (capabilities <@ ARRAY['build', 'deploy', 'remediate']::text[]),
  labels                jsonb NOT NULL DEFAULT '{}',
  slots                 integer NOT NULL DEFAULT 1 CHECK (slots BETWEEN 1 AND 64),
  join_token_hash       bytea,                  -- sha256 of the one-time join token; cleared on use
  join_token_expires_at timestamptz,
  credential_hash       bytea,                  -- sha256 of the credential handed out at enrolment
  hostname              text,
  enrolled_at           timestamptz,
  revoked_at            timestamptz,
  last_seen_at          timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name)
);

CREATE TABLE webhook_deliveries (
  delivery_id     text PRIMARY KEY,             -- X-GitHub-Delivery: a redelivery creates nothing new
  event           text NOT NULL,
  action          text,
  repository_id   bigint,
  ref             text,
  head_sha        text,
  outcome         text NOT NULL CHECK (outcome IN ('queued', 'ignored')),
  reason          text NOT NULL,
  builds_created  integer NOT NULL DEFAULT 0,
  received_at     timestamptz NOT NULL DEFAULT now()
);

-- Unsigned or mis-signed deliveries store nothing but this counter.
CREATE TABLE webhook_rejections (
  reason      text PRIMARY KEY,
  count       bigint NOT NULL DEFAULT 0,
  last_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TYPE build_status AS ENUM
  ('pending', 'claimed', 'cloning', 'building', 'pushing', 'completed', 'failed', 'cancelled');

CREATE TABLE builds (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  service_id          uuid NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  commit_sha          text NOT NULL CHECK (commit_sha ~ '^[0-9a-f]{40}$'),
  branch              text NOT NULL,
  commit_message      text NOT NULL DEFAULT '',
  trigger             text NOT NULL CHECK (trigger IN ('push', 'manual', 'retry')),
  delivery_id         text REFERENCES webhook_deliveries(delivery_id),
  retry_of            uuid REFERENCES builds(id),
  status              build_status NOT NULL DEFAULT 'pending',
  status_reason       text,
  attempt             integer NOT NULL DEFAULT 0,
  max_attempts        integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  claimed_by          uuid REFERENCES agents(id),
  lease_token         uuid,
  lease_expires_at    timestamptz,
  cancel_requested_at timestamptz,
  image_ref           text,
  image_digest        text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  started_at          timestamptz,
  finished_at         timestamptz
);
CREATE INDEX builds_pending ON builds (created_at) WHERE status = 'pending';
CREATE INDEX builds_lease_expiry ON builds (lease_expires_at)
  WHERE status IN ('claimed', 'cloning', 'building', 'pushing');
CREATE INDEX builds_service ON builds (service_id, created_at DESC);

CREATE TABLE build_status_history (
  id           bigserial PRIMARY KEY,
  build_id     uuid NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  from_status  build_status,
  to_status    build_status NOT NULL,
  actor        text NOT NULL,                   -- 'user:<id>', 'agent:<id>', 'webhook:<delivery>', 'system:reaper'
  reason       text,
  at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX build_status_history_build ON build_status_history (build_id, id);

CREATE TABLE build_log_chunks (
  build_id    uuid NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  attempt     integer NOT NULL,
  seq         integer NOT NULL CHECK (seq >= 1),
  data        bytea NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (build_id, attempt, seq)
);

CREATE TYPE deployment_status AS ENUM ('pending', 'in_progress', 'succeeded', 'failed', 'cancelled');

CREATE TABLE deployments (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  service_id   uuid NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  build_id     uuid NOT NULL REFERENCES builds(id),
  image_ref    text NOT NULL,
  status       deployment_status NOT NULL DEFAULT 'pending',
  reason       text,
  created_by   text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  finished_at  timestamptz
);
CREATE INDEX deployments_service ON deployments (service_id, created_at DESC);

CREATE TYPE deploy_item_status AS ENUM
  ('pending', 'claimed', 'pulling', 'starting', 'running', 'failed', 'cancelled', 'lost', 'superseded');

-- One per replica of a deployment, claimed by agents with the 'deploy' capability.
CREATE TABLE deploy_work_items (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  deployment_id    uuid NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
  replica_index    integer NOT NULL,
  status           deploy_item_status NOT NULL DEFAULT 'pending',
  status_reason    text,
  attempt          integer NOT NULL DEFAULT 0,
  claimed_by       uuid REFERENCES agents(id),
  lease_token      uuid,
  lease_expires_at timestamptz,
  container_id     text,
  endpoint_host    text,
  endpoint_port    integer,
  created_at       timestamptz NOT NULL DEFAULT now(),
  started_at       timestamptz,
  finished_at      timestamptz,
  UNIQUE (deployment_id, replica_index)
);
CREATE INDEX deploy_work_items_pending ON deploy_work_items (created_at) WHERE status = 'pending';
