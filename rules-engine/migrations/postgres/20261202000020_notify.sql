-- Notification delivery. Times are milliseconds since the epoch.

-- Every notification, written before it is sent and marked after, so a
-- crash loses none; instances sharing the database claim rows through the
-- lease (owner, until) so each goes out once. The payload is what was
-- rendered at flush time and holds no secret: URLs and credentials stay in
-- the configuration, found again through the integration key.
CREATE TABLE notify_outbox (
    id              BIGSERIAL PRIMARY KEY,
    created_at      BIGINT  NOT NULL,
    group_key       TEXT    NOT NULL,
    integration     TEXT    NOT NULL,
    receiver        TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    done_at         BIGINT
);
CREATE INDEX notify_outbox_due ON notify_outbox (status, next_attempt_at);

-- The notification log: what each integration was last told about each
-- group (fingerprints as 16 hex digits, JSON arrays), which dedup reads.
CREATE TABLE notify_log (
    group_key   TEXT   NOT NULL,
    integration TEXT   NOT NULL,
    firing      TEXT   NOT NULL,
    resolved    TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (group_key, integration)
);

-- Append-only history: alert state changes (kind 'alert') and
-- notification outcomes (kind 'notification').
CREATE TABLE alert_history (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT NOT NULL,
    kind        TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    labels      TEXT   NOT NULL,
    group_key   TEXT   NOT NULL,
    integration TEXT   NOT NULL,
    status      TEXT   NOT NULL,
    detail      TEXT   NOT NULL
);
CREATE INDEX alert_history_at ON alert_history (at);
CREATE INDEX alert_history_fingerprint ON alert_history (fingerprint, at);

-- Silences, never deleted: expiring one moves its end, so expired ones
-- stay for audit. Matchers as JSON (the v2 API's shape).
CREATE TABLE silences (
    id         TEXT   PRIMARY KEY,
    matchers   TEXT   NOT NULL,
    starts_at  BIGINT NOT NULL,
    ends_at    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    created_by TEXT   NOT NULL,
    comment    TEXT   NOT NULL
);
