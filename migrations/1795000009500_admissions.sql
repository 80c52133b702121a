-- Up Migration
-- Each model's place in the cluster's GPUs. `held` GPUs count against the capacity once the model
-- was admitted; a model asking for more than it holds (a first deploy, a scale-up) waits in line
-- from `waiting_since` (null: not waiting) until the capacity of its accelerator type allows, first
-- come first served.
CREATE TABLE admissions (
  model_key      text PRIMARY KEY REFERENCES models (model_key) ON DELETE CASCADE,
  cluster_id     text NOT NULL,
  accelerator    text NOT NULL,
  held           integer NOT NULL DEFAULT 0 CHECK (held >= 0),
  wanted         integer NOT NULL CHECK (wanted >= 0),
  waiting_since  timestamptz,
  -- Why it waits, in words (shown on the model while it does).
  reason         text,
  updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX admissions_line ON admissions (cluster_id, accelerator, waiting_since) WHERE waiting_since IS NOT NULL;

-- Down Migration
DROP TABLE admissions;
