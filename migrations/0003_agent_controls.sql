-- Operating agents: drain (finish what it runs, claim nothing new) and idempotent claims (a claim
-- retried after its reply was lost returns the same work instead of a second item).
ALTER TABLE agents ADD COLUMN drained_at timestamptz;

ALTER TABLE builds ADD COLUMN claim_key text;
ALTER TABLE deploy_work_items ADD COLUMN claim_key text;
CREATE INDEX builds_claim_key ON builds (claimed_by, claim_key) WHERE claim_key IS NOT NULL;
CREATE INDEX deploy_work_items_claim_key ON deploy_work_items (claimed_by, claim_key) WHERE claim_key IS NOT NULL;

-- A control plane that starts extends live leases once (agents could not heartbeat while it was
-- down); the flag stops a crash-looping control plane from keeping a dead agent's work forever.
-- A heartbeat that renews the lease clears it.
ALTER TABLE builds ADD COLUMN lease_extended boolean NOT NULL DEFAULT false;
ALTER TABLE deploy_work_items ADD COLUMN lease_extended boolean NOT NULL DEFAULT false;
