-- An agent that restarts names the work its previous run held and may be told to run it again under
-- the same claim. Each claim is resumed at most once: a second restart gives the work back (a build
-- is re-queued and spends an attempt; a deploy item becomes lost), so an agent that keeps crashing
-- cannot hold work forever. A new claim starts the count again.
ALTER TABLE builds ADD COLUMN resumes smallint NOT NULL DEFAULT 0;
ALTER TABLE deploy_work_items ADD COLUMN resumes smallint NOT NULL DEFAULT 0;
