-- Ingress and rollouts (issue 10). Every service answers at a stable address: a generated host
-- name under the configured base domain (its `ingress_label`) and any custom domains. Caddy routes
-- each name to the service's replicas that passed their health check (deploy items `running`).
-- A replica taken out of the route is stopped only after its service's drain period, counted
-- from when every ingress confirmed the route without it (`unrouted_at`).
ALTER TABLE services
  ADD COLUMN ingress_label text,
  ADD COLUMN health_check jsonb NOT NULL DEFAULT '{"type":"http","path":"/"}',
  ADD COLUMN drain_seconds integer NOT NULL DEFAULT 5 CHECK (drain_seconds BETWEEN 0 AND 3600);

-- Existing services get "<service>-<project>", made unique with part of the id where taken.
UPDATE services s SET ingress_label = lower(left(s.name || '-' || p.name, 50))
FROM projects p WHERE p.id = s.project_id;
UPDATE services s SET ingress_label = left(s.ingress_label, 40) || '-' || left(s.id::text, 8)
WHERE EXISTS (SELECT 1 FROM services o WHERE o.ingress_label = s.ingress_label AND o.id < s.id);
ALTER TABLE services
  ALTER COLUMN ingress_label SET NOT NULL,
  ADD CONSTRAINT services_ingress_label UNIQUE (ingress_label);

-- Custom domains: a host name belongs to at most one service.
CREATE TABLE service_domains (
  host        text PRIMARY KEY,
  service_id  uuid NOT NULL REFERENCES services(id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_domains_service ON service_domains (service_id);

-- A replica whose agent gave it up (lease expired, agent stopped) is started again, elsewhere when
-- its host is gone; the container it may have left behind is removed when that host reports back.
ALTER TABLE deploy_work_items
  ADD COLUMN unrouted_at timestamptz,
  ADD COLUMN max_attempts integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1);
-- Replicas out of service whose removal from the route is not yet confirmed.
CREATE INDEX deploy_work_items_to_unroute ON deploy_work_items (id)
  WHERE unrouted_at IS NULL AND endpoint_host IS NOT NULL AND status <> 'running';
-- The ingress reads the serving replicas on every change; agents' inventories look items up by
-- deployment and replica (the unique constraint) and by agent.
CREATE INDEX deploy_work_items_running ON deploy_work_items (deployment_id) WHERE status = 'running';
CREATE INDEX deploy_work_items_agent ON deploy_work_items (claimed_by) WHERE status = 'running';

-- An agent's last report of its Slipway containers: its running replicas are alive while it reports.
ALTER TABLE agents ADD COLUMN inventory_at timestamptz;

-- Every control plane re-reads the routes when a replica starts or stops serving, or a service's
-- host names change (the ingress sync coalesces these hints; a periodic pass covers lost ones).
CREATE FUNCTION notify_ingress() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('slipway_ingress', '');
  RETURN NULL;
END $$;
CREATE TRIGGER deploy_items_ingress AFTER UPDATE OF status ON deploy_work_items
  FOR EACH ROW WHEN ((OLD.status = 'running') IS DISTINCT FROM (NEW.status = 'running'))
  EXECUTE FUNCTION notify_ingress();
CREATE TRIGGER service_domains_ingress AFTER INSERT OR DELETE OR UPDATE ON service_domains
  FOR EACH STATEMENT EXECUTE FUNCTION notify_ingress();
CREATE TRIGGER services_ingress AFTER DELETE OR UPDATE OF ingress_label ON services
  FOR EACH STATEMENT EXECUTE FUNCTION notify_ingress();
