-- Environment variables and secrets (issue 10, "Settings and secrets"). A variable belongs to one
-- service, or (service_id NULL) is shared by every service of its project; a service's own variable
-- overrides the project's of the same name. Every value is sealed with SLIPWAY_SECRET_KEY
-- (AES-256-GCM, crypto/secret-box.ts), secret or not; `secret` only decides whether the API shows it.
-- Values reach containers through the container API when a replica starts, never argv or a log.
CREATE TABLE variables (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  project_id  uuid NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  service_id  uuid REFERENCES services(id) ON DELETE CASCADE,
  name        text NOT NULL CHECK (name ~ '^[A-Za-z_][A-Za-z0-9_]{0,127}$'),
  value_enc   bytea NOT NULL,
  secret      boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
-- One variable of a name per scope: the project's shared set (service_id NULL) and each service's.
CREATE UNIQUE INDEX variables_scope_name ON variables (project_id, service_id, name) NULLS NOT DISTINCT;
-- A service's variables are read with its project's when a replica is claimed.
CREATE INDEX variables_service ON variables (service_id) WHERE service_id IS NOT NULL;
