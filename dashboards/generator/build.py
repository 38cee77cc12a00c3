#!/usr/bin/env python3
"""Writes the Vigil dashboards into dashboards/*.json.

    python3 dashboards/generator/build.py           # write the files
    python3 dashboards/generator/build.py --check   # exit 1 if one is stale

The JSON files are what users import and what Grafana provisions; this
generator is how they are changed, so that every panel keeps the shared data
source, units, descriptions and a non-overlapping grid. Python's standard
library only.
"""

import pathlib
import sys

# Keep the repository free of __pycache__ folders.
sys.dont_write_bytecode = True
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import alerts_sla  # noqa: E402
import grafana  # noqa: E402
import haproxy  # noqa: E402
import overview  # noqa: E402
import postgresql  # noqa: E402
import redis  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent

DASHBOARDS = {
    "ha-overview.json": overview,
    "postgresql.json": postgresql,
    "redis.json": redis,
    "haproxy.json": haproxy,
    "alerts-sla.json": alerts_sla,
}


def main(argv):
    check = "--check" in argv
    stale = []
    for name, module in DASHBOARDS.items():
        text = grafana.render(module.build())
        path = OUT / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print("stale (run dashboards/generator/build.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
