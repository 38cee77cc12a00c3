"""HA overview: is the service within its 99.99 % objective, and which
component is to blame when it is not."""

from grafana import (AVAILABILITY_STEPS, OBJECTIVE, Layout, dashboard, gauge,
                     query_variable, row, stat, steps, table, target, timeline,
                     timeseries)

# The app instances the `job`/`instance` variables select (the exporter's
# app-health series carry the instance's own `instance` label).
APP = 'job=~"$job",instance=~"$instance"'
SLA = 'service=~"$service"'
BUDGET = 1 - OBJECTIVE

HEALTH_MAPPINGS = [{"type": "value", "options": {
    "0": {"text": "unhealthy", "color": "red", "index": 0},
    "0.5": {"text": "degraded", "color": "yellow", "index": 1},
    "1": {"text": "healthy", "color": "green", "index": 2}}}]


def availability(lay):
    lay.add(row("Availability this month (vigil SLA ledger)"))
    lay.add(
        stat("Availability this month",
             "Month-to-date availability of each SLA service from vigil's ledger "
             "(vigil_sla_availability_ratio). Objective 99.99 %; red below 99.9 % "
             "(50 % credit), orange below 99.95 % (25 %), yellow below 99.99 % (10 %).",
             "percentunit", [target(f"vigil_sla_availability_ratio{{{SLA}}}", "{{service}}")],
             w=5, h=5, thresholds={"mode": "absolute", "steps": AVAILABILITY_STEPS},
             decimals=3),
        gauge("Against the 99.99 % objective",
              "The same availability on a scale from 99.9 % to 100 %: the marker "
              "bands are the credit tiers, the objective is where green starts.",
              "percentunit", [target(f"vigil_sla_availability_ratio{{{SLA}}}", "{{service}}")],
              w=5, h=5, thresholds={"mode": "absolute", "steps": AVAILABILITY_STEPS},
              minimum=0.999, maximum=1, decimals=3),
        stat("Downtime this month",
             "Downtime counted against the SLA since the start of the month "
             "(vigil_sla_downtime_seconds_total). 99.99 % of a 30-day month allows "
             "259 s (about 4.3 min): orange at half of it, red past it.",
             "s", [target(f"vigil_sla_downtime_seconds_total{{{SLA}}}", "{{service}}")],
             w=4, h=5, thresholds=steps((129.6, "orange"), (259.2, "red"))),
        stat("Error budget remaining",
             "Share of this month's allowed downtime not yet spent "
             "(vigil_sla_error_budget_remaining_ratio); negative when overspent.",
             "percentunit", [target(f"vigil_sla_error_budget_remaining_ratio{{{SLA}}}",
                                    "{{service}}")],
             w=5, h=5, thresholds=steps((0.25, "orange"), (0.5, "green"), base="red"),
             decimals=1),
        stat("Backend availability over the range",
             "Share of the dashboard's time range during which HAProxy reported each "
             "backend up (avg_over_time of haproxy_backend_up): availability over time, "
             "not the share of targets up now.",
             "percentunit",
             [target("min by (proxy) (avg_over_time(haproxy_backend_up[$__range]))",
                     "{{proxy}}")],
             w=5, h=5, thresholds={"mode": "absolute", "steps": AVAILABILITY_STEPS},
             decimals=3),
    )


def components(lay):
    lay.add(row("Components"))
    lay.add(
        timeline("Up / down per component",
                 "Each component's *_up gauge from vigil-exporter (1 answered, 0 did "
                 "not) and Prometheus's own up for every scrape target.",
                 [target("max by (server) (pg_up)", "postgres {{server}}"),
                  target("max by (target) (redis_up)", "redis {{target}}"),
                  target("max by (target) (haproxy_up)", "haproxy {{target}}"),
                  target(f"max by (instance) (app_up{{{APP}}})", "app {{instance}}"),
                  target("max by (job, instance) (up)", "scrape {{job}} {{instance}}")],
                 w=24, h=9),
        stat("Healthy instances",
             "App instances whose /health says healthy (instance_health == 1); "
             "InsufficientHealthyInstances fires below 2. Zero when none is, not "
             "an empty panel.",
             "short",
             [target(f"count(instance_health{{{APP}}} == 1) or vector(0)", "healthy")],
             w=4, h=5, thresholds=steps((2, "orange"), (3, "green"), base="red")),
        stat("Instances answering",
             "App instances whose /health gave an answer the exporter understood "
             "(app_up == 1), healthy or not.",
             "short", [target(f"count(app_up{{{APP}}} == 1) or vector(0)", "answering")],
             w=4, h=5, thresholds=steps((2, "orange"), (3, "green"), base="red")),
        stat("Active servers per backend",
             "Servers HAProxy is sending traffic to, per backend "
             "(haproxy_backend_active_servers).",
             "short", [target("sum by (proxy) (haproxy_backend_active_servers)",
                              "{{proxy}}")],
             w=4, h=5, thresholds=steps((1, "orange"), (2, "green"), base="red")),
        timeline("Instance health",
                 "What each instance's /health reports: healthy (1), degraded (0.5), "
                 "unhealthy or unreachable (0).",
                 [target(f"instance_health{{{APP}}}", "{{instance}}")],
                 w=12, h=5, mappings=HEALTH_MAPPINGS),
    )


def traffic(lay):
    lay.add(row("Traffic"))
    lay.add(
        timeseries("Request rate",
                   "HTTP requests per second received by each HAProxy frontend.",
                   "reqps",
                   [target("sum by (proxy) (rate(haproxy_frontend_http_requests_total"
                           "[$__rate_interval]))", "{{proxy}}")], w=8),
        timeseries("5xx ratio",
                   "Share of responses with a 5xx status per frontend, both sides summed "
                   "before dividing (a per-code division would give 1 at the first 5xx). "
                   "HighErrorRate fires above 5 % per backend.",
                   "percentunit",
                   [target('sum by (proxy) (rate(haproxy_frontend_http_responses_total'
                           '{code="5xx"}[$__rate_interval])) / (sum by (proxy) '
                           '(rate(haproxy_frontend_http_responses_total[$__rate_interval]))'
                           ' > 0)', "{{proxy}}")],
                   w=8, thresholds=steps((0.05, "red")), threshold_lines=True, minimum=0),
        timeseries("Latency p95 / p99",
                   "p95 and p99 of the exporter's /health probes of the selected "
                   "instances (health_check_duration_seconds), with HAProxy's average "
                   "backend response time over its last 1024 requests. No component "
                   "exports a request-duration histogram, so request percentiles are "
                   "not available.",
                   "s",
                   [target("histogram_quantile(0.95, sum by (le) (rate("
                           f'health_check_duration_seconds_bucket{{{APP},check_type="health"}}'
                           "[$__rate_interval])))", "health p95"),
                    target("histogram_quantile(0.99, sum by (le) (rate("
                           f'health_check_duration_seconds_bucket{{{APP},check_type="health"}}'
                           "[$__rate_interval])))", "health p99"),
                    target("haproxy_backend_response_time_average_seconds",
                           "backend avg {{proxy}}")],
                   w=8, minimum=0),
    )


def budget(lay):
    lay.add(row("Error budget and alerts"))
    b = f"{BUDGET:g}"
    lay.add(
        timeseries("Burn rate",
                   "How many times faster than the 99.99 % budget allows each backend is "
                   "failing (recorded unavailability / 0.0001). AvailabilityBudgetBurnFast "
                   "pages at 14.4x over 1 h and 5 m or 6x over 6 h and 30 m; "
                   "AvailabilityBudgetBurnSlow at 1x over 3 d and 6 h.",
                   "suffix:x",
                   [target(f"proxy:haproxy_backend_unavailability:ratio_5m / {b}", "5m {{proxy}}"),
                    target(f"proxy:haproxy_backend_unavailability:ratio_1h / {b}", "1h {{proxy}}"),
                    target(f"proxy:haproxy_backend_unavailability:ratio_6h / {b}", "6h {{proxy}}"),
                    target(f"proxy:haproxy_backend_unavailability:ratio_3d / {b}", "3d {{proxy}}")],
                   w=12, thresholds=steps((1, "yellow"), (6, "orange"), (14.4, "red")),
                   threshold_lines=True, minimum=0),
        stat("Firing alerts",
             "Alerts firing now (ALERTS{alertstate=\"firing\"}), from the rule files "
             "evaluated by the data source (Prometheus or vigil).",
             "short", [target('count(ALERTS{alertstate="firing"}) or vector(0)', "firing")],
             w=4, h=8, thresholds=steps((1, "red"))),
        table("Firing alerts",
              "One line per firing alert with its labels.",
              "none", [target('ALERTS{alertstate="firing"}', table=True)],
              w=8, h=8, hide=("Value", "alertstate")),
    )


def build():
    lay = Layout()
    availability(lay)
    components(lay)
    traffic(lay)
    budget(lay)
    variables = [
        query_variable("job", "Job", "label_values(app_up, job)"),
        query_variable("instance", "Instance", 'label_values(app_up{job=~"$job"}, instance)'),
        query_variable("service", "SLA service",
                       "label_values(vigil_sla_availability_ratio, service)"),
    ]
    return dashboard("vigil-ha-overview", "Vigil / HA overview",
                     "Availability against the 99.99 % objective, component states, "
                     "traffic, burn rate and firing alerts of the HA stack.",
                     ["overview", "sla"], variables, lay)
