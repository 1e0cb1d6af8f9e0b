#!/usr/bin/env python3
"""Converts a Zeek TSV log into Zeek JSON lines the way Zeek's JSON writer does
(LogAscii::use_json=T): numbers for time/interval/count/port, true/false for bool,
arrays for set/vector, unset fields omitted, (empty) as []. Extra non-Zeek columns
(Stratosphere labels) are dropped. Usage: tsv2json.py IN.log > OUT.json"""
import json, sys

sep, fields, types = "\t", [], []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("#separator"):
        continue
    if line.startswith("#"):
        name, _, rest = line[1:].partition(sep)
        if name == "fields":
            fields = rest.split(sep)
        elif name == "types":
            types = rest.split(sep)
        continue
    obj = {}
    for f, t, v in zip(fields, types, line.split(sep)):
        if f in ("label", "detailedlabel", "detailed-label"):
            continue
        if v == "-":
            continue
        if t.startswith(("set[", "vector[")):
            obj[f] = [] if v == "(empty)" else v.split(",")
        elif t in ("time", "interval", "double"):
            obj[f] = float(v)
        elif t in ("count", "port", "int"):
            obj[f] = int(v)
        elif t == "bool":
            obj[f] = v == "T"
        else:
            obj[f] = v
    print(json.dumps(obj, separators=(",", ":")))
