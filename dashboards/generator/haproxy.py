"""HAProxy: which frontends, backends and servers are up, how often servers
flap, and what the clients get (5xx ratio, queues, response times)."""

from grafana import (UP_DOWN, Layout, bargauge, dashboard, query_variable, row, stat,
                     steps, table, target, timeline, timeseries)

H = 'job=~"$job",instance=~"$instance",target=~"$target"'
# Backend and server series: the `proxy` label is the backend's name.
B = H + ',proxy=~"$backend"'
# The exporter's target label for HAProxy is `target`.
BY = "job, instance, target"
RATE = "[$__rate_interval]"


def status(lay):
    lay.add(row("Status"))
    lay.add(
        stat("HAProxy up", "Whether the exporter could read HAProxy's stats (haproxy_up).",
             "none", [target(f"haproxy_up{{{H}}}", "{{target}}")], w=4, h=5,
             thresholds=steps((1, "green"), base="red"), mappings=UP_DOWN),
        stat("Active servers", "Servers each backend is sending traffic to "
             "(haproxy_backend_active_servers). BackendWithoutHealthyServers fires at 0.",
             "short", [target(f"haproxy_backend_active_servers{{{B}}}", "{{proxy}}")],
             w=5, h=5, thresholds=steps((1, "orange"), (2, "green"), base="red")),
        stat("Servers down", "Servers not UP (DOWN, MAINT, or failing checks).",
             "short", [target(f"count(haproxy_server_up{{{B}}} == 0) or vector(0)", "down")],
             w=4, h=5, thresholds=steps((1, "red"))),
        stat("Server transitions in range", "UP/DOWN transitions of all servers during "
             "the time range (haproxy_server_check_up_down_total): a flapping server "
             "shows here first.",
             "short", [target(f"sum(increase(haproxy_server_check_up_down_total{{{B}}}"
                              "[$__range]))", "transitions")],
             w=5, h=5, thresholds=steps((1, "orange"), (10, "red"))),
        stat("Server downtime in range", "Seconds servers spent DOWN during the time "
             "range, all servers summed (haproxy_server_downtime_seconds_total).",
             "s", [target(f"sum(increase(haproxy_server_downtime_seconds_total{{{B}}}"
                          "[$__range]))", "downtime")],
             w=6, h=5, thresholds=steps((1, "orange"), (259.2, "red"))),
    )
    lay.add(
        timeline("Frontends", "Each frontend UP or not (haproxy_frontend_status, state UP).",
                 [target(f'haproxy_frontend_status{{{H},state="UP"}}', "{{proxy}}")],
                 w=8, h=7),
        timeline("Backends", "Each backend UP (has a usable server) or DOWN "
                 "(haproxy_backend_up).",
                 [target(f"haproxy_backend_up{{{B}}}", "{{proxy}}")], w=8, h=7),
        timeline("Servers", "Each server UP or not (haproxy_server_up).",
                 [target(f"haproxy_server_up{{{B}}}", "{{proxy}}/{{server}}")], w=8, h=7),
        table("Server states", "The state HAProxy gives each server now (UP, DOWN, "
              "MAINT, DRAIN, NOLB), from haproxy_server_status.",
              "none", [target(f"haproxy_server_status{{{B}}} == 1", table=True)],
              w=12, h=7, hide=("Value", "job")),
        bargauge("Transitions per server", "UP/DOWN transitions of each server during "
                 "the time range.",
                 "short", [target(f"increase(haproxy_server_check_up_down_total{{{B}}}"
                                  "[$__range])", "{{proxy}}/{{server}}", instant=True)],
                 w=6, h=7, thresholds=steps((1, "orange"), (10, "red"))),
        bargauge("Downtime per server", "Seconds each server spent DOWN during the time "
                 "range.",
                 "s", [target(f"increase(haproxy_server_downtime_seconds_total{{{B}}}"
                              "[$__range])", "{{proxy}}/{{server}}", instant=True)],
                 w=6, h=7, thresholds=steps((1, "orange"), (259.2, "red"))),
    )


def traffic(lay):
    lay.add(row("Traffic and errors"))
    five = (f'sum by ({BY}, proxy) (rate(haproxy_backend_http_responses_total'
            f'{{{B},code="5xx"}}{RATE})) / (sum by ({BY}, proxy) '
            f"(rate(haproxy_backend_http_responses_total{{{B}}}{RATE})) > 0)")
    lay.add(
        timeseries("Responses by code", "Responses per second of each frontend, by "
                   "status class.",
                   "reqps", [target(f"sum by (proxy, code) (rate("
                                    f"haproxy_frontend_http_responses_total{{{H}}}{RATE}))",
                                    "{{proxy}} {{code}}")], w=8, minimum=0),
        timeseries("5xx ratio per backend",
                   "Share of each backend's responses that are 5xx; both sides summed per "
                   "backend before dividing. HighErrorRate fires above 5 % for 5 m.",
                   "percentunit", [target(five, "{{proxy}}")], w=8, minimum=0,
                   thresholds=steps((0.05, "red")), threshold_lines=True),
        timeseries("Errors", "Connection and response errors per second, per backend.",
                   "ops",
                   [target(f"sum by (proxy) (rate(haproxy_backend_connection_errors_total"
                           f"{{{B}}}{RATE}))", "{{proxy}} connection"),
                    target(f"sum by (proxy) (rate(haproxy_backend_response_errors_total"
                           f"{{{B}}}{RATE}))", "{{proxy}} response")], w=8, minimum=0),
    )


def latency(lay):
    lay.add(row("Queues and response times"))
    lay.add(
        timeseries("Queued requests", "Requests waiting for a server, per backend and "
                   "per server.",
                   "short",
                   [target(f"haproxy_backend_current_queue{{{B}}}", "{{proxy}}"),
                    target(f"haproxy_server_current_queue{{{B}}}", "{{proxy}}/{{server}}")],
                   w=8, minimum=0),
        timeseries("Backend response times", "Average queue, connect, response and total "
                   "times of each backend over its last 1024 requests. HighLatency fires "
                   "above 1 s of response time.",
                   "s",
                   [target(f"haproxy_backend_{t}_time_average_seconds{{{B}}}",
                           f"{{{{proxy}}}} {t}")
                    for t in ("queue", "connect", "response", "total")],
                   w=8, minimum=0, thresholds=steps((1, "red")), threshold_lines=True),
        timeseries("Server response times", "Average response time of each server over "
                   "its last 1024 requests; HighResponseTime fires above 2 s.",
                   "s", [target(f"haproxy_server_response_time_average_seconds{{{B}}}",
                                "{{proxy}}/{{server}}")],
                   w=8, minimum=0, thresholds=steps((2, "red")), threshold_lines=True),
    )


def build():
    lay = Layout()
    status(lay)
    traffic(lay)
    latency(lay)
    variables = [
        query_variable("job", "Job", "label_values(haproxy_up, job)"),
        query_variable("instance", "Instance",
                       'label_values(haproxy_up{job=~"$job"}, instance)'),
        query_variable("target", "HAProxy",
                       'label_values(haproxy_up{job=~"$job",instance=~"$instance"}, target)'),
        query_variable("backend", "Backend",
                       'label_values(haproxy_backend_up{job=~"$job",instance=~"$instance",'
                       'target=~"$target"}, proxy)'),
    ]
    return dashboard("vigil-haproxy", "Vigil / HAProxy",
                     "Frontend, backend and server status, transitions and downtime, "
                     "5xx ratio, queues and response times of HAProxy.",
                     ["haproxy"], variables, lay)
