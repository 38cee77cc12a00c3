-- The SLA availability ledger: per service, the intervals [start_ms, end_ms)
-- during which it was up, down or of unknown state. State changes only,
-- never samples: a month without incident is one row per service. Times are
-- milliseconds since the epoch.
CREATE TABLE sla_ledger (
    service  TEXT   NOT NULL,
    start_ms BIGINT NOT NULL,
    end_ms   BIGINT NOT NULL,
    state    TEXT   NOT NULL,
    PRIMARY KEY (service, start_ms)
);
-- Appends extend the row that ends where the new interval starts.
CREATE INDEX sla_ledger_end ON sla_ledger (service, end_ms);
