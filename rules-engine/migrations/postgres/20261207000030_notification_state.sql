-- What each notification told: `firing` (some alert of the group fires)
-- or `resolved` (all resolved), on the outbox row and on every history row
-- about it, so the history says which delivery was which.
ALTER TABLE notify_outbox ADD COLUMN state TEXT NOT NULL DEFAULT '';
ALTER TABLE alert_history ADD COLUMN state TEXT NOT NULL DEFAULT '';
