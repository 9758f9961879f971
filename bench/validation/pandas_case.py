"""The checks of Kiln's data validation written with pandas + numpy + scipy, timed on the data bench/validation.ts
wrote (row-major float64 little-endian files). Prints {"runsMs": [...], "ks": [[statistic, pvalue], ...], "psi": [...],
"duplicates": n} as JSON. Reading the files is not timed (Kiln's side starts from tables in memory too).

Per run, as Kiln: profile (count, missing, mean, std, min, max, 5/25/50/75/95% quantiles, distinct values), missing
rate, non-finite count, constant columns, duplicate rows, reference-derived ranges (min/max widened by 10% of the
range) and the share outside them, PSI on 10 reference-quantile bins (epsilon 1e-4) and scipy's two-sample KS per
column, and the drifted share.
"""
import json
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats


def psi(ref, cur, bins, eps):
    edges = np.unique(np.quantile(ref, np.arange(1, bins) / bins))
    r = np.bincount(np.searchsorted(edges, ref, side="left"), minlength=len(edges) + 1) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="left"), minlength=len(edges) + 1) / len(cur)
    r = np.maximum(r, eps)
    c = np.maximum(c, eps)
    return float(np.sum((c - r) * np.log(c / r)))


def validate(ref, cur, spec):
    rows = len(cur)
    profile = cur.describe(percentiles=[0.05, 0.25, 0.5, 0.75, 0.95])
    missing_rate = cur.isna().mean()
    non_finite = np.isinf(cur.to_numpy()).sum(axis=0)
    distinct = cur.nunique()
    constant = distinct < 2
    duplicates = int(cur.duplicated().sum())
    lo, hi = ref.min(), ref.max()
    pad = (hi - lo) * spec["margin"]
    outside = ((cur < lo - pad) | (cur > hi + pad)).sum() / rows
    ks, psis, drifted = [], [], 0
    for name in cur.columns:
        r = ref[name].to_numpy()
        c = cur[name].to_numpy()
        res = stats.ks_2samp(r, c)
        p = psi(r, c, spec["bins"], spec["epsilon"])
        ks.append([float(res.statistic), float(res.pvalue)])
        psis.append(p)
        drifted += p >= 0.1 and res.pvalue < 0.05
    return profile, missing_rate, non_finite, constant, duplicates, outside, ks, psis, drifted / len(cur.columns)


def main():
    spec = json.loads(sys.argv[1])
    shape = (spec["rows"], spec["columns"])
    names = [f"x{j}" for j in range(spec["columns"])]
    ref = pd.DataFrame(np.fromfile(spec["reference"], dtype="<f8").reshape(shape), columns=names)
    cur = pd.DataFrame(np.fromfile(spec["current"], dtype="<f8").reshape(shape), columns=names)
    validate(ref, cur, spec)  # warm-up, as Kiln's side
    runs = []
    for _ in range(spec["runs"]):
        t0 = time.perf_counter()
        result = validate(ref, cur, spec)
        runs.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"runsMs": runs, "ks": result[6], "psi": result[7], "duplicates": result[4]}))


if __name__ == "__main__":
    main()
