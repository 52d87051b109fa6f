-- A service can require labels of the agents that build it and of those that deploy it (for example
-- `arch=arm64` for builds, `region=eu` for deploys): an agent claims a service's work only when its
-- own labels contain every required pair. Empty means any agent of the organisation.
ALTER TABLE services
  ADD COLUMN build_agent_labels jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT services_build_agent_labels_object CHECK (jsonb_typeof(build_agent_labels) = 'object'),
  ADD COLUMN deploy_agent_labels jsonb NOT NULL DEFAULT '{}'
    CONSTRAINT services_deploy_agent_labels_object CHECK (jsonb_typeof(deploy_agent_labels) = 'object');
