-- Shared alert state between instances on one database: each instance's
-- heartbeat, and the alerts each one sees firing (until `ends_at`, the
-- alert's own end of validity). An alert resolves only when no live
-- instance (heartbeat younger than the peer timeout) still sees it firing.
CREATE TABLE notify_instances (
    instance     TEXT   PRIMARY KEY,
    heartbeat_at BIGINT NOT NULL
);
CREATE TABLE notify_alert_views (
    instance    TEXT   NOT NULL,
    fingerprint TEXT   NOT NULL,
    ends_at     BIGINT NOT NULL,
    PRIMARY KEY (instance, fingerprint)
);
CREATE INDEX notify_alert_views_fp ON notify_alert_views (fingerprint);
