-- Agents authenticate with certificates issued by the control plane's own CA (mutual TLS) instead
-- of a bearer credential. The CA is shared by every control plane on this database; its private key
-- is sealed with SLIPWAY_SECRET_KEY. The first control plane to start creates it.
CREATE TABLE certificate_authority (
  id               smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  certificate_pem  text NOT NULL,
  private_key_enc  bytea NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE agents DROP COLUMN credential_hash;
-- The key an agent enrolled with (sha256 of its SubjectPublicKeyInfo). Register retried with the same
-- key after a lost reply gets a certificate again; the join token is useless with any other key.
ALTER TABLE agents ADD COLUMN enrolled_key_sha256 bytea;
-- The newest certificate issued to the agent, for operators (rotation shows here).
ALTER TABLE agents ADD COLUMN certificate_serial text;
ALTER TABLE agents ADD COLUMN certificate_expires_at timestamptz;
