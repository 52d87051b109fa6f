-- Claims take the oldest pending work in the order (created_at, id) for builds and
-- (created_at, replica_index) for replica items. An index on created_at alone cannot give that
-- order when many rows share a created_at (every build queued by one transaction does), so each
-- claim sorted the whole backlog: 7.5 ms per claim with 10,000 builds waiting, 0.2 ms with these.
DROP INDEX builds_pending;
CREATE INDEX builds_pending ON builds (created_at, id) WHERE status = 'pending';
DROP INDEX deploy_work_items_pending;
CREATE INDEX deploy_work_items_pending ON deploy_work_items (created_at, replica_index) WHERE status = 'pending';
