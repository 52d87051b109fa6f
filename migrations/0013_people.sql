-- People and access: local accounts, a role per organisation, per-user API tokens and invitations.
-- A user belongs to organisations through memberships; the role lives on the membership. The
-- bootstrap admin (the token in SLIPWAY_BOOTSTRAP_TOKEN) stays a user without a password or email,
-- owner of the default organisation, so automation keeps working.

ALTER TABLE users
  ADD COLUMN email          text CHECK (email = lower(email) AND email LIKE '%_@_%'),
  ADD COLUMN password_hash  text,                  -- argon2id, PHC string; null: cannot sign in by password
  ADD COLUMN disabled       boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX users_email ON users (email);

CREATE TABLE memberships (
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id      uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  role        text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, org_id)
);
CREATE INDEX memberships_org ON memberships (org_id, role);

-- The users that exist become members of their organisation; the bootstrap admin is its owner.
INSERT INTO memberships (user_id, org_id, role)
  SELECT id, org_id,
         CASE WHEN id = '00000000-0000-4000-8000-000000000002' THEN 'owner'
              WHEN role = 'admin' THEN 'admin'
              WHEN role = 'member' THEN 'developer'
              ELSE 'viewer' END
  FROM users;

-- Membership replaces the user's single organisation and role.
ALTER TABLE users DROP CONSTRAINT users_org_id_name_key;
ALTER TABLE users DROP COLUMN role;
ALTER TABLE users DROP COLUMN org_id;

-- Scripts' credentials. Only the SHA-256 of the token is stored; `prefix` is what lists show.
CREATE TABLE api_tokens (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  org_id        uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  name          text NOT NULL,
  token_hash    bytea NOT NULL UNIQUE,
  prefix        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, org_id);

-- Links that let someone join an organisation with a role. Single use; only the digest is stored.
CREATE TABLE invitations (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id       uuid NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
  role         text NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
  email        text CHECK (email = lower(email)),  -- when set, only this address may accept
  token_hash   bytea NOT NULL UNIQUE,
  created_by   uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at   timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  accepted_at  timestamptz,
  accepted_by  uuid REFERENCES users(id) ON DELETE SET NULL
);

-- Sign-out everywhere deletes a user's sessions.
CREATE INDEX sessions_user ON sessions (user_id);
