-- Every kind of leased work records its status transitions, so the work core writes history the
-- same way for all of them (control-plane/src/work/); a replica's timeline (claimed, pulling,
-- starting, running, lost, superseded) is now kept like a build's.
CREATE TABLE deploy_item_status_history (
  id              bigserial PRIMARY KEY,
  deploy_item_id  uuid NOT NULL REFERENCES deploy_work_items(id) ON DELETE CASCADE,
  from_status     deploy_item_status,
  to_status       deploy_item_status NOT NULL,
  actor           text NOT NULL,
  reason          text,
  at              timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deploy_item_status_history_item ON deploy_item_status_history (deploy_item_id, id);
