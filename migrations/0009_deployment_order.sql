-- Deployments of a service are ordered: each gets the next sequence number of its service (under a
-- lock on the service row), its replicas' containers carry it in a label, and a deployment only ever
-- removes containers of strictly older ones. Existing deployments are numbered in creation order.
ALTER TABLE deployments ADD COLUMN sequence integer;
UPDATE deployments d SET sequence = ordered.n
FROM (SELECT id, row_number() OVER (PARTITION BY service_id ORDER BY created_at, id) AS n FROM deployments) ordered
WHERE ordered.id = d.id;
ALTER TABLE deployments
  ALTER COLUMN sequence SET NOT NULL,
  ADD CONSTRAINT deployments_service_sequence UNIQUE (service_id, sequence);
