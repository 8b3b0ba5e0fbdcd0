#!/usr/bin/env python3
"""Runs `meshsmith map --format json` on every corpus in SHARED/corpora, scores each with
SHARED/tools/score_graph.py, and enforces the bounds over the totals:

  corpora with visible edges: recall >= 0.90, precision >= 0.90, protocol accuracy >= 0.90
  every corpus: believed-protocol accuracy >= 0.95 (a service reported `unknown` is undecided)
  corpora whose edges are invisible in the manifests: at most 2 invented edges in total
  dangling names listed in the ground truth appear as unresolved

usage: score_corpora.py MESHSMITH_BINARY SHARED_DIR
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

VISIBLE = ["online-boutique", "spring-petclinic-cloud", "aks-store-demo", "sock-shop"]
INVISIBLE = ["bookinfo", "train-ticket", "dsb-hotel-reservation"]


def main(binary, shared):
    # Each map output is scored from a file; they all go when the scoring ends.
    with tempfile.TemporaryDirectory(prefix="meshsmith-map-") as scratch:
        return score_all(binary, Path(shared), Path(scratch))


def score_all(binary, shared, scratch):
    totals = {"vis": 0, "hit_vis": 0, "reported": 0, "hit_all": 0, "proto": 0, "proto_ok": 0}
    invented = 0
    failures = []
    print(f"{'corpus':<24} {'recall':>8} {'precision':>10} {'protocol':>9}  unresolved")
    for name in VISIBLE + INVISIBLE:
        corpus = shared / "corpora" / name
        expected = corpus / "expected-graph.json"
        out = scratch / f"{name}.json"
        run = subprocess.run([binary, "map", "--format", "json", str(corpus)], capture_output=True, text=True)
        if run.returncode != 0:
            failures.append(f"{name}: map exited {run.returncode}: {run.stderr.strip()[:500]}")
            continue
        out.write_text(run.stdout)
        score = subprocess.run(
            [sys.executable, str(shared / "tools" / "score_graph.py"), str(expected), str(out), "--json"],
            capture_output=True, text=True)
        if score.returncode not in (0, 1):
            failures.append(f"{name}: score_graph failed: {score.stderr.strip()}")
            continue
        s = json.loads(score.stdout)
        inferred = json.loads(run.stdout)
        dangling = sorted({u["host"].split(".")[0] for u in inferred.get("unresolved", [])})
        truth = json.loads(expected.read_text())
        wanted = sorted({c["target"] for svc in truth["services"].values() for c in (svc.get("calls") or [])
                         if c.get("target_in_corpus") is False and c.get("visible_in_manifests")})
        missing = [d for d in wanted if d not in dangling]
        if missing:
            failures.append(f"{name}: dangling names not reported as unresolved: {missing}")
        print(f"{name:<24} {s['recall']:>8.3f} {s['precision']:>10.3f} {s['protocol_accuracy']:>9.3f}  {', '.join(dangling) or '-'}")
        if s["protocol_accuracy"] < 0.95:
            failures.append(f"{name}: protocol accuracy {s['protocol_accuracy']:.3f} < 0.95")
        for k in ("missed", "false_positives", "wrong_protocol"):
            for line in s[k]:
                print(f"    {k}: {line}")
        if name in VISIBLE:
            totals["vis"] += s["visible_edges"]
            totals["hit_vis"] += round(s["recall"] * s["visible_edges"])
            totals["reported"] += s["reported_edges"]
            totals["hit_all"] += round(s["precision"] * s["reported_edges"])
            totals["proto"] += s["protocol_services"]
            totals["proto_ok"] += round(s["protocol_accuracy"] * s["protocol_services"])
        else:
            invented += len(s["false_positives"])
    recall = totals["hit_vis"] / totals["vis"] if totals["vis"] else 1.0
    precision = totals["hit_all"] / totals["reported"] if totals["reported"] else 1.0
    protocol = totals["proto_ok"] / totals["proto"] if totals["proto"] else 1.0
    print(f"total (visible corpora): recall {recall:.3f} ({totals['hit_vis']}/{totals['vis']})  "
          f"precision {precision:.3f} ({totals['hit_all']}/{totals['reported']})  "
          f"protocol {protocol:.3f} ({totals['proto_ok']}/{totals['proto']})")
    print(f"invented edges on invisible corpora: {invented}")
    if recall < 0.90:
        failures.append(f"total recall {recall:.3f} < 0.90")
    if precision < 0.90:
        failures.append(f"total precision {precision:.3f} < 0.90")
    if protocol < 0.90:
        failures.append(f"total protocol accuracy {protocol:.3f} < 0.90")
    if invented > 2:
        failures.append(f"{invented} invented edges on invisible corpora (at most 2)")
    for f in failures:
        print(f"FAIL: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
