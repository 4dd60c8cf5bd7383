#!/usr/bin/env python3
"""Seeds fuzz/corpus/parse_definition with every definition of the ASL conformance corpus."""
import glob, json, os, hashlib
here = os.path.dirname(os.path.abspath(__file__))
src = os.path.join(here, "..", "..", "shared", "conformance", "asl")
out = os.path.join(here, "corpus", "parse_definition")
os.makedirs(out, exist_ok=True)
for f in glob.glob(os.path.join(src, "**", "*.json"), recursive=True):
    case = json.load(open(f))
    if not isinstance(case, dict):
        continue
    for d in (case.get("definition"), (case.get("request") or {}).get("definition")):
        if d is None:
            continue
        text = d if isinstance(d, str) else json.dumps(d)
        name = hashlib.sha1(text.encode()).hexdigest()
        open(os.path.join(out, name), "w").write(text)
