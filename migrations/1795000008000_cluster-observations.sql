-- Up Migration

-- What the reconciler last saw of each RUNNING or DEGRADED model on its cluster. A row is written
-- only when what it holds changes, so a quiet cluster costs one write per pass (the cluster row).
--   health: healthy | short (replicas below target) | unhealthy | missing (app not on the cluster)
--   since: when the health last changed (a short model counts as degraded after a grace period)
--   last_healthy_at: the last pass that saw it healthy, written when it stops being healthy
--   reported / reported_at: what the model's workflow was last told (healthy, degraded, missing)
CREATE TABLE model_observations (
  model_key         text PRIMARY KEY,
  cluster_id        text NOT NULL,
  health            text NOT NULL,
  running_replicas  integer NOT NULL,
  target_replicas   integer NOT NULL,
  message           text NOT NULL DEFAULT '',
  since             timestamptz NOT NULL,
  last_healthy_at   timestamptz,
  reported          text,
  reported_at       timestamptz
);
CREATE INDEX model_observations_cluster ON model_observations (cluster_id);

-- One row per cluster: when the reconciler last read Ray, and whether it could.
CREATE TABLE cluster_observations (
  cluster_id   text PRIMARY KEY,
  observed_at  timestamptz NOT NULL,
  reachable    boolean NOT NULL,
  message      text NOT NULL DEFAULT ''
);

-- Repairs of the cluster itself, which belong to no model: orphan apps removed, the ingress's
-- model set sent again.
CREATE TABLE cluster_events (
  id          bigserial PRIMARY KEY,
  cluster_id  text NOT NULL,
  event_type  text NOT NULL,
  payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cluster_events_recent ON cluster_events (cluster_id, id DESC);

-- Down Migration

DROP TABLE cluster_events;
DROP TABLE cluster_observations;
DROP TABLE model_observations;
