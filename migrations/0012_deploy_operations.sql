-- Deploy button, rollback and service operations (issue 10). Every deployment says why it exists
-- (`trigger`, and the words its requester gave in `trigger_reason`) and how many replicas it wants:
-- a stop is a deployment of zero replicas whose success supersedes the serving ones. A stopped
-- service (`stopped_at`) is not deployed by completing builds until it is started or deployed by
-- hand. A build started by the Deploy button (`deploy_requested_by`, `…_at`, `deploy_request_reason`) is
-- deployed when it completes, even for a service that does not deploy automatically.
ALTER TABLE deployments
  ADD COLUMN trigger text NOT NULL DEFAULT 'auto'
    CHECK (trigger IN ('auto', 'manual', 'rollback', 'restart', 'scale', 'stop', 'start', 'replica_lost')),
  ADD COLUMN trigger_reason text CHECK (length(trigger_reason) <= 500),
  ADD COLUMN replicas integer;
-- Until now the reconciler created a deployment only to replace lost replicas.
UPDATE deployments SET trigger = 'replica_lost' WHERE created_by = 'reconciler';
UPDATE deployments d SET replicas = (SELECT count(*) FROM deploy_work_items i WHERE i.deployment_id = d.id);
ALTER TABLE deployments
  ALTER COLUMN replicas SET NOT NULL,
  ADD CONSTRAINT deployments_replicas CHECK (replicas BETWEEN 0 AND 64);
-- The service's current deployment is its newest succeeded one.
CREATE INDEX deployments_service_sequence_succeeded ON deployments (service_id, sequence DESC)
  WHERE status = 'succeeded';

ALTER TABLE services ADD COLUMN stopped_at timestamptz;

ALTER TABLE builds
  ADD COLUMN deploy_requested_by text,
  ADD COLUMN deploy_requested_at timestamptz,
  ADD COLUMN deploy_request_reason text CHECK (length(deploy_request_reason) <= 500);
-- The Deploy button looks for builds of the branch head.
CREATE INDEX builds_service_commit ON builds (service_id, commit_sha);
