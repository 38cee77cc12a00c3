-- Active alerts of each alerting rule, so a restart resumes `for` timers
-- and does not notify again. Times are milliseconds since the epoch.
CREATE TABLE alert_state (
    rule_key         TEXT    NOT NULL,
    labels_key       TEXT    NOT NULL,
    labels           TEXT    NOT NULL,
    annotations      TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    value            DOUBLE PRECISION NOT NULL,
    active_at        BIGINT  NOT NULL,
    fired_at         BIGINT,
    resolved_at      BIGINT,
    last_sent_at     BIGINT,
    keep_firing_since BIGINT,
    PRIMARY KEY (rule_key, labels_key)
);
