-- Ordered delivery: a flush supersedes its (group, integration) pair's
-- older pending rows, and a claim skips rows with an older row of their
-- pair still pending; both look rows up by pair.
CREATE INDEX notify_outbox_pair ON notify_outbox (group_key, integration, status, id);
