"""Builders for the parts of a Grafana 12 dashboard the Vigil dashboards use.

The dashboards are generated rather than hand-edited so that every panel gets
the same data source, a unit, a description and a place on the grid that
cannot overlap another: `Layout` flows panels left to right in rows of 24
columns. `build.py` writes the JSON files; `tests/tests/dashboards.rs` checks
them (structure, PromQL, metric names) without needing Python.
"""

import json

# Grafana 12's dashboard schema version (what it writes on save).
SCHEMA_VERSION = 41

# One data-source reference everywhere: the `datasource` variable. It works
# for UI import and for file provisioning alike, unlike `${DS_PROMETHEUS}`
# with `__inputs`, which only the import dialog fills in.
DS = {"type": "prometheus", "uid": "${datasource}"}

# The objective and the credit tiers of the SLA (seeds/000): 99.99 % with
# credits below 99.99 / 99.95 / 99.9.
OBJECTIVE = 0.9999

AVAILABILITY_STEPS = [
    {"color": "red", "value": None},
    {"color": "orange", "value": 0.999},
    {"color": "yellow", "value": 0.9995},
    {"color": "green", "value": 0.9999},
]

UP_DOWN = [
    {
        "type": "value",
        "options": {
            "0": {"text": "DOWN", "color": "red", "index": 0},
            "1": {"text": "UP", "color": "green", "index": 1},
        },
    }
]


def steps(*pairs, base="green"):
    """Threshold steps: a base colour, then (value, colour) pairs upwards."""
    out = [{"color": base, "value": None}]
    out += [{"color": c, "value": v} for v, c in pairs]
    return {"mode": "absolute", "steps": out}


def target(expr, legend="__auto", instant=False, table=False):
    """A Prometheus query of a panel (refId is set by the panel)."""
    t = {"datasource": DS, "editorMode": "code", "expr": expr, "legendFormat": legend}
    if instant or table:
        t["instant"] = True
        t["range"] = False
    else:
        t["range"] = True
    if table:
        t["format"] = "table"
    return t


def _reduce():
    return {"calcs": ["lastNotNull"], "fields": "", "values": False}


def _panel(kind, title, description, unit, targets, w, h, options, defaults):
    if not description:
        raise ValueError(f"panel {title!r} needs a description")
    for i, t in enumerate(targets):
        t["refId"] = chr(ord("A") + i)
    fc_defaults = {"unit": unit}
    fc_defaults.update(defaults)
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DS,
        "targets": targets,
        "fieldConfig": {"defaults": fc_defaults, "overrides": []},
        "options": options,
        "_size": (w, h),
    }


def stat(title, description, unit, targets, w=4, h=4, thresholds=None,
         mappings=None, graph=False, decimals=None, text=None):
    defaults = {"thresholds": thresholds or steps(), "color": {"mode": "thresholds"},
                "mappings": mappings or []}
    if decimals is not None:
        defaults["decimals"] = decimals
    options = {"reduceOptions": _reduce(), "colorMode": "value",
               "graphMode": "area" if graph else "none", "justifyMode": "auto",
               "orientation": "auto", "textMode": text or "auto", "wideLayout": True,
               "showPercentChange": False}
    return _panel("stat", title, description, unit, targets, w, h, options, defaults)


def gauge(title, description, unit, targets, w=6, h=6, thresholds=None,
          minimum=0, maximum=1, decimals=None):
    defaults = {"thresholds": thresholds or steps(), "color": {"mode": "thresholds"},
                "min": minimum, "max": maximum, "mappings": []}
    if decimals is not None:
        defaults["decimals"] = decimals
    options = {"reduceOptions": _reduce(), "orientation": "auto",
               "showThresholdLabels": False, "showThresholdMarkers": True,
               "sizing": "auto", "minVizHeight": 75, "minVizWidth": 75}
    return _panel("gauge", title, description, unit, targets, w, h, options, defaults)


def bargauge(title, description, unit, targets, w=8, h=6, thresholds=None,
             minimum=0, maximum=None, decimals=None):
    defaults = {"thresholds": thresholds or steps(), "color": {"mode": "thresholds"},
                "min": minimum, "mappings": []}
    if maximum is not None:
        defaults["max"] = maximum
    if decimals is not None:
        defaults["decimals"] = decimals
    options = {"reduceOptions": _reduce(), "displayMode": "gradient",
               "orientation": "horizontal", "showUnfilled": True, "valueMode": "color",
               "namePlacement": "auto", "sizing": "auto", "minVizHeight": 16,
               "minVizWidth": 8, "maxVizHeight": 300, "legend": {"showLegend": False}}
    return _panel("bargauge", title, description, unit, targets, w, h, options, defaults)


def timeseries(title, description, unit, targets, w=12, h=8, thresholds=None,
               threshold_lines=False, minimum=None, maximum=None, stack=False):
    custom = {"drawStyle": "line", "lineInterpolation": "linear", "lineWidth": 1,
              "fillOpacity": 10, "gradientMode": "none", "showPoints": "never",
              "pointSize": 4, "spanNulls": False, "axisPlacement": "auto",
              "axisBorderShow": False, "barAlignment": 0, "insertNulls": False,
              "stacking": {"mode": "normal" if stack else "none", "group": "A"},
              "thresholdsStyle": {"mode": "dashed" if threshold_lines else "off"}}
    defaults = {"custom": custom, "color": {"mode": "palette-classic"},
                "thresholds": thresholds or steps(), "mappings": []}
    if minimum is not None:
        defaults["min"] = minimum
    if maximum is not None:
        defaults["max"] = maximum
    options = {"legend": {"displayMode": "list", "placement": "bottom",
                          "showLegend": True, "calcs": []},
               "tooltip": {"mode": "multi", "sort": "desc", "hideZeros": False}}
    return _panel("timeseries", title, description, unit, targets, w, h, options, defaults)


def timeline(title, description, targets, w=24, h=6, mappings=None, unit="none"):
    """A state timeline; by default 1 is UP (green) and 0 DOWN (red)."""
    defaults = {"custom": {"fillOpacity": 80, "lineWidth": 0, "hideFrom":
                           {"legend": False, "tooltip": False, "viz": False}},
                "color": {"mode": "thresholds"}, "thresholds": steps(),
                "mappings": UP_DOWN if mappings is None else mappings}
    options = {"mergeValues": True, "showValue": "auto", "alignValue": "left",
               "rowHeight": 0.9, "legend": {"displayMode": "list", "placement": "bottom",
                                            "showLegend": False},
               "tooltip": {"mode": "single", "sort": "none", "hideZeros": False}}
    return _panel("state-timeline", title, description, unit, targets, w, h, options,
                  defaults)


def table(title, description, unit, targets, w=24, h=8, hide=(), rename=None):
    """An instant table of series; `hide` drops columns such as Time."""
    defaults = {"custom": {"align": "auto", "cellOptions": {"type": "auto"},
                           "inspect": False},
                "thresholds": steps(), "color": {"mode": "thresholds"}, "mappings": []}
    options = {"showHeader": True, "cellHeight": "sm",
               "footer": {"show": False, "reducer": ["sum"], "countRows": False,
                          "fields": ""}}
    p = _panel("table", title, description, unit, targets, w, h, options, defaults)
    excluded = {name: True for name in ("Time", "__name__") + tuple(hide)}
    p["transformations"] = [{"id": "organize", "options": {
        "excludeByName": excluded, "renameByName": rename or {},
        "indexByName": {}}}]
    return p


def row(title):
    return {"type": "row", "title": title, "collapsed": False, "panels": [],
            "_size": (24, 1)}


class Layout:
    """Places panels on Grafana's 24-column grid, left to right.

    A panel that does not fit on the current line starts a new one below the
    tallest panel of that line; a row always starts a new line. Ids are
    given in order.
    """

    def __init__(self):
        self.panels = []
        self.x = 0
        self.y = 0
        self.line_height = 0

    def _newline(self):
        self.y += self.line_height
        self.x = 0
        self.line_height = 0

    def add(self, *panels):
        for p in panels:
            w, h = p.pop("_size")
            if p["type"] == "row" or self.x + w > 24:
                self._newline()
            p["id"] = len(self.panels) + 1
            p["gridPos"] = {"h": h, "w": w, "x": self.x, "y": self.y}
            self.panels.append(p)
            self.x += w
            self.line_height = max(self.line_height, h)
        return self


def datasource_variable():
    return {"name": "datasource", "label": "Data source", "type": "datasource",
            "query": "prometheus", "current": {}, "hide": 0, "includeAll": False,
            "multi": False, "options": [], "refresh": 1, "regex": "",
            "skipUrlSync": False}


def query_variable(name, label, query, multi=True):
    """A label_values() variable; "All" matches every value, even none."""
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "definition": query,
            "query": {"qryType": 1, "query": query,
                      "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "current": {}, "hide": 0, "includeAll": True, "allValue": ".*",
            "multi": multi, "options": [], "refresh": 2, "regex": "", "sort": 1,
            "skipUrlSync": False}


def dashboard(uid, title, description, tags, variables, layout, time_from="now-6h"):
    if len(uid) > 40:
        raise ValueError(f"uid {uid!r} is longer than Grafana's 40 characters")
    return {
        "id": None,
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["vigil"] + tags,
        "editable": True,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "liveNow": False,
        "refresh": "30s",
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "weekStart": "",
        "time": {"from": time_from, "to": "now"},
        "timepicker": {},
        "timezone": "browser",
        "annotations": {"list": [{
            "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "hide": True, "iconColor": "rgba(0, 211, 255, 1)",
            "name": "Annotations & Alerts", "type": "dashboard"}]},
        "links": [{"type": "dashboards", "tags": ["vigil"], "asDropdown": True,
                   "title": "Vigil dashboards", "includeVars": False,
                   "keepTime": True, "icon": "external link", "targetBlank": False,
                   "tooltip": "", "url": ""}],
        "templating": {"list": [datasource_variable()] + variables},
        "panels": layout.panels,
    }


def render(d):
    return json.dumps(d, indent=2, ensure_ascii=False) + "\n"
