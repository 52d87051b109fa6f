-- The GitHub App integration: the app's own credentials (encrypted at rest), browser sessions for
-- the setup flows, one-time states for OAuth-style redirects, installations that exist before a
-- Slipway organisation claims them, and the outbox that mirrors builds into GitHub Deployments.

-- Credentials created through the manifest flow. Secrets are sealed with SLIPWAY_SECRET_KEY
-- (AES-256-GCM); the environment variables remain the other way to configure the app.
CREATE TABLE github_apps (
  id                  bigint PRIMARY KEY,        -- GitHub's app id
  slug                text NOT NULL,
  name                text NOT NULL,
  owner_login         text NOT NULL,
  client_id           text NOT NULL,
  client_secret_enc   bytea NOT NULL,
  webhook_secret_enc  bytea NOT NULL,
  private_key_enc     bytea NOT NULL,
  html_url            text NOT NULL,
  created_by          text NOT NULL,
  created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
  id_hash     bytea PRIMARY KEY,                 -- sha256 of the cookie value
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  csrf_token  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);

-- `state` values of the manifest and user-authorization redirects: single use, short-lived, and
-- bound to the session user who started the flow.
CREATE TABLE oauth_states (
  state_hash  bytea PRIMARY KEY,
  purpose     text NOT NULL CHECK (purpose IN ('manifest', 'install')),
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id      uuid NOT NULL REFERENCES organizations(id),
  data        jsonb NOT NULL DEFAULT '{}',
  expires_at  timestamptz NOT NULL
);

-- An installation webhook may arrive before anyone proves they own it: org_id stays empty until
-- the setup flow binds it.
ALTER TABLE github_installations ALTER COLUMN org_id DROP NOT NULL;
ALTER TABLE github_installations
  ADD COLUMN app_id bigint,
  ADD COLUMN repository_selection text NOT NULL DEFAULT 'selected',
  ADD COLUMN permissions jsonb NOT NULL DEFAULT '{}',
  ADD COLUMN deleted_at timestamptz,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

ALTER TABLE github_repos
  ADD COLUMN owner text,
  ADD COLUMN name text,
  ADD COLUMN clone_url text,
  ADD COLUMN default_branch text,
  -- Set when the repository left its installation: its services stop building and say why.
  ADD COLUMN removed_at timestamptz,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX github_repos_installation ON github_repos (installation_id) WHERE removed_at IS NULL;
CREATE INDEX github_repos_full_name ON github_repos (lower(full_name));

ALTER TABLE services
  -- A monorepo service builds only when a changed file lies under root_dir or one of these.
  ADD COLUMN watch_paths text[] NOT NULL DEFAULT '{}',
  -- Tag pushes build only when asked for.
  ADD COLUMN build_tags boolean NOT NULL DEFAULT false;

ALTER TABLE webhook_deliveries DROP CONSTRAINT webhook_deliveries_outcome_check;
ALTER TABLE webhook_deliveries ADD CONSTRAINT webhook_deliveries_outcome_check
  CHECK (outcome IN ('queued', 'ignored', 'applied'));
ALTER TABLE webhook_deliveries ADD COLUMN installation_id bigint;

-- One row per build of a GitHub-linked service: the outbox from which GitHub Deployments are kept
-- in step with the build, by background jobs that never hold a build up.
CREATE TABLE github_deployments (
  build_id          uuid PRIMARY KEY REFERENCES builds(id) ON DELETE CASCADE,
  installation_id   bigint NOT NULL,
  repository        text NOT NULL,               -- owner/name
  environment       text NOT NULL,
  deployment_id     bigint,                      -- GitHub's, once created
  last_state        text,                        -- the last status GitHub accepted
  last_error        text,
  attempts          integer NOT NULL DEFAULT 0,
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX github_deployments_open ON github_deployments (updated_at)
  WHERE last_state IS NULL OR last_state NOT IN ('success', 'failure', 'error', 'inactive');
