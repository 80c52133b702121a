-- Up Migration

-- The cluster writer asks, while it gathers changes into one PUT, how many models accepted
-- (QUEUED) or starting their apply (DEPLOYING) have not written their cluster entry yet; this
-- keeps that count off a scan of every model.
CREATE INDEX models_on_their_way ON models (updated_at) WHERE state IN ('QUEUED', 'DEPLOYING');

-- Down Migration

DROP INDEX models_on_their_way;
