#!/usr/bin/python3
"""Parses a Prometheus text exposition with the official Python client's
parser (Debian's python3-prometheus-client) and prints it as JSON, so C++
tests assert on parsed values, not on matched strings:

  {"<family>": {"type": "counter", "help": "...",
                "samples": [{"name": "...", "labels": {...}, "value": 1.0}, ...]}, ...}

Exits 1 (the parser's complaint on stderr) when the text does not parse,
or when a family lacks HELP or TYPE, or a sample's name does not belong to
its family (the parser itself accepts both).
"""
import json
import math
import sys

from prometheus_client.parser import text_string_to_metric_families


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    helps, types = set(), set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helps.add(line.split(" ")[2])
        elif line.startswith("# TYPE "):
            types.add(line.split(" ")[2])
    out = {}
    try:
        for family in text_string_to_metric_families(text):
            # The parser strips a counter's _total from the family name.
            name = family.name + "_total" if family.type == "counter" else family.name
            if name not in helps or name not in types:
                raise ValueError(f"family {name} lacks a HELP or TYPE line")
            samples = []
            for s in family.samples:
                if not s.name.startswith(family.name):
                    raise ValueError(f"sample {s.name} is not of family {name}")
                value = s.value
                samples.append({"name": s.name, "labels": s.labels,
                                "value": None if math.isinf(value) or math.isnan(value) else value})
            out[name] = {"type": family.type, "help": family.documentation, "samples": samples}
    except ValueError as e:
        print(f"prom_parse: {e}", file=sys.stderr)
        return 1
    json.dump(out, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
