"""Alerts & SLA: the month's availability, budget and credit tier per SLA
service, the burn rate behind the budget alerts, and the alerts themselves."""

from grafana import (AVAILABILITY_STEPS, OBJECTIVE, Layout, bargauge, dashboard,
                     gauge, query_variable, row, stat, steps, table, target, timeline,
                     timeseries)

SLA = 'service=~"$service"'
AL = 'job=~"$job",instance=~"$instance"'
BUDGET = 1 - OBJECTIVE
WINDOWS = ("5m", "30m", "1h", "6h", "3d")

# The contract's credit tiers (seeds/000), lower bound inclusive.
CREDIT_MAPPINGS = [
    {"type": "range", "options": {"from": 0.9999, "to": 1,
                                  "result": {"text": "no credit", "color": "green", "index": 0}}},
    {"type": "range", "options": {"from": 0.9995, "to": 0.99989999,
                                  "result": {"text": "10 % credit", "color": "yellow", "index": 1}}},
    {"type": "range", "options": {"from": 0.999, "to": 0.99949999,
                                  "result": {"text": "25 % credit", "color": "orange", "index": 2}}},
    {"type": "range", "options": {"from": 0, "to": 0.99899999,
                                  "result": {"text": "50 % credit", "color": "red", "index": 3}}},
]

FIRING_MAPPINGS = [{"type": "value", "options": {
    "1": {"text": "firing", "color": "red", "index": 0}}}]


def sla(lay):
    lay.add(row("SLA this month"))
    avail = f"vigil_sla_availability_ratio{{{SLA}}}"
    lay.add(
        gauge("Availability against the objective",
              "Month-to-date availability of each SLA service from vigil's ledger, on a "
              "99.9 %-100 % scale. Objective 99.99 %.",
              "percentunit", [target(avail, "{{service}}")], w=8, h=7,
              thresholds={"mode": "absolute", "steps": AVAILABILITY_STEPS},
              minimum=0.999, maximum=1, decimals=3),
        bargauge("Error budget remaining",
                 "Share of this month's allowed downtime not yet spent per service; "
                 "negative when overspent.",
                 "percentunit", [target(f"vigil_sla_error_budget_remaining_ratio{{{SLA}}}",
                                        "{{service}}")], w=8, h=7, maximum=1,
                 thresholds=steps((0.25, "orange"), (0.5, "green"), base="red")),
        stat("Credit tier", "The credit the month's availability so far would give: "
             "none from 99.99 %, 10 % from 99.95 %, 25 % from 99.9 %, 50 % below.",
             "percentunit", [target(avail, "{{service}}")], w=4, h=7,
             thresholds={"mode": "absolute", "steps": AVAILABILITY_STEPS},
             mappings=CREDIT_MAPPINGS),
        stat("Downtime this month", "Downtime counted against the SLA this month "
             "(vigil_sla_downtime_seconds_total); a 30-day month at 99.99 % allows 259 s.",
             "s", [target(f"vigil_sla_downtime_seconds_total{{{SLA}}}", "{{service}}")],
             w=4, h=7, thresholds=steps((129.6, "orange"), (259.2, "red"))),
    )
    lay.add(
        timeseries("Availability this month over time",
                   "How the month-to-date availability moved; the dashed lines are the "
                   "credit tiers.",
                   "percentunit", [target(avail, "{{service}}")], w=12,
                   thresholds={"mode": "absolute", "steps": AVAILABILITY_STEPS},
                   threshold_lines=True),
        timeseries("Downtime this month over time",
                   "Downtime counted so far this month; it restarts at 0 with the month.",
                   "s", [target(f"vigil_sla_downtime_seconds_total{{{SLA}}}", "{{service}}")],
                   w=12, minimum=0, thresholds=steps((259.2, "red")), threshold_lines=True),
    )


def burn(lay):
    lay.add(row("Burn rate"))
    b = f"{BUDGET:g}"
    lay.add(
        timeseries("Unavailability per window",
                   "Share of each window during which HAProxy reported the backend down "
                   "(the recording rules of rules/slo.rules.yml).",
                   "percentunit",
                   [target(f"proxy:haproxy_backend_unavailability:ratio_{w}", f"{w} {{{{proxy}}}}")
                    for w in WINDOWS], w=12, minimum=0),
        timeseries("Burn rate",
                   "Unavailability over the 0.0001 budget: 1x spends the month's budget in "
                   "a month. Fast burn pages at 14.4x (1 h and 5 m) or 6x (6 h and 30 m); "
                   "slow burn opens a ticket at 1x (3 d and 6 h).",
                   "suffix:x",
                   [target(f"proxy:haproxy_backend_unavailability:ratio_{w} / {b}",
                           f"{w} {{{{proxy}}}}") for w in WINDOWS],
                   w=12, minimum=0, thresholds=steps((1, "yellow"), (6, "orange"), (14.4, "red")),
                   threshold_lines=True),
    )


def alerts(lay):
    lay.add(row("Alerts"))
    count = lambda sel: f"count(ALERTS{{{AL},{sel}}}) or vector(0)"  # noqa: E731
    lay.add(
        stat("Firing", "Alerts firing now.", "short",
             [target(count('alertstate="firing"'), "firing")], w=6, h=4,
             thresholds=steps((1, "red"))),
        stat("Pending", "Alerts whose condition holds but whose `for` has not elapsed.",
             "short", [target(count('alertstate="pending"'), "pending")], w=6, h=4,
             thresholds=steps((1, "orange"))),
        stat("Paging", "Firing alerts of severity page or critical.", "short",
             [target(count('alertstate="firing",severity=~"page|critical"'), "paging")],
             w=6, h=4, thresholds=steps((1, "red"))),
        stat("Warnings and tickets", "Firing alerts of severity warning or ticket.", "short",
             [target(count('alertstate="firing",severity=~"warning|ticket"'), "warnings")],
             w=6, h=4, thresholds=steps((1, "orange"))),
        timeline("Alert activity", "When each alert was firing during the time range.",
                 [target(f'max by (alertname) (ALERTS{{{AL},alertstate="firing"}})',
                         "{{alertname}}")], w=24, h=8, mappings=FIRING_MAPPINGS),
        timeseries("Firing alerts by severity", "Number of firing alerts per severity.",
                   "short", [target(f'count by (severity) (ALERTS{{{AL},alertstate="firing"}})',
                                    "{{severity}}")], w=8, minimum=0, stack=True),
        table("Firing and pending alerts", "Every alert that is firing or pending now, "
              "with its labels.",
              "none", [target(f"ALERTS{{{AL}}}", table=True)], w=16, h=8,
              hide=("Value",)),
    )


def build():
    lay = Layout()
    sla(lay)
    burn(lay)
    alerts(lay)
    variables = [
        query_variable("job", "Job", "label_values(up, job)"),
        query_variable("instance", "Instance", 'label_values(up{job=~"$job"}, instance)'),
        query_variable("service", "SLA service",
                       "label_values(vigil_sla_availability_ratio, service)"),
    ]
    return dashboard("vigil-alerts-sla", "Vigil / Alerts & SLA",
                     "Month-to-date availability, error budget and credit tier per SLA "
                     "service, burn rates, and firing alerts.",
                     ["alerts", "sla"], variables, lay)
