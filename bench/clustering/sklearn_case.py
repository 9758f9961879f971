"""Runs one clustering case with scikit-learn (or MiniSom for SOM) on the same float32 data Kiln used, and prints
{"ms": wall time of fit/predict, "cpuMs": CPU time of this process (all threads) over the same span, "labels": [...]
(when asked), "peakRssMb": the process's peak resident memory} as JSON. With --info instead: the versions and thread pools (threadpoolctl) it computes with. Called by
bench/clustering/run.ts."""
import json
import platform
import resource
import sys
import time

import numpy as np


def info():
    import sklearn
    import sklearn.cluster  # noqa: F401  (loads the OpenMP runtime, so threadpoolctl sees it)
    import scipy
    from threadpoolctl import threadpool_info

    print(json.dumps({"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
                      "sklearn": sklearn.__version__, "threadpools": threadpool_info()}))


def main():
    if sys.argv[1] == "--info":
        return info()
    spec = json.loads(sys.argv[1])
    X = np.fromfile(spec["dataFile"], dtype="<f4").reshape(spec["n"], spec["d"])
    algorithm, p = spec["algorithm"], spec["params"]
    t0 = time.perf_counter()
    c0 = time.process_time()
    if algorithm == "kmeans":
        from sklearn.cluster import KMeans

        init = np.asarray(p["init"], dtype=np.float32) if isinstance(p.get("init"), list) else p.get("init", "k-means++")
        model = KMeans(n_clusters=p["k"], init=init, n_init=1, max_iter=p["maxIterations"], tol=p["tolerance"],
                       algorithm="lloyd", random_state=p.get("seed", 0)).fit(X)
        labels = model.labels_
    elif algorithm == "minibatch-kmeans":
        from sklearn.cluster import MiniBatchKMeans

        model = MiniBatchKMeans(n_clusters=p["k"], batch_size=p["batchSize"], max_iter=p["maxIterations"],
                                n_init=1, random_state=p.get("seed", 0)).fit(X)
        labels = model.labels_
    elif algorithm == "dbscan":
        from sklearn.cluster import DBSCAN

        labels = DBSCAN(eps=p["eps"], min_samples=p["minPoints"], metric=p.get("metric", "euclidean")).fit(X).labels_
    elif algorithm == "hierarchical":
        from sklearn.cluster import AgglomerativeClustering

        labels = AgglomerativeClustering(n_clusters=p["k"], linkage=p.get("linkage", "ward")).fit(X).labels_
    elif algorithm == "spectral":
        from sklearn.cluster import SpectralClustering

        affinity = "nearest_neighbors" if p.get("affinity") == "nearest-neighbors" else "rbf"
        labels = SpectralClustering(n_clusters=p["k"], affinity=affinity, gamma=p.get("gamma", 1.0),
                                    n_neighbors=p.get("nNeighbors", 10), random_state=p.get("seed", 0)).fit(X).labels_
    elif algorithm == "gmm":
        from sklearn.mixture import GaussianMixture

        labels = GaussianMixture(n_components=p["k"], covariance_type=p.get("covarianceType", "full"),
                                 max_iter=p.get("maxIterations", 100), random_state=p.get("seed", 0)).fit(X).predict(X)
    elif algorithm == "som":
        from minisom import MiniSom

        som = MiniSom(p["rows"], p["cols"], spec["d"], sigma=p["sigma"], learning_rate=p["learningRate"],
                      random_seed=p.get("seed", 0))
        # MiniSom counts single-sample updates; Kiln's iterations are passes over the data.
        som.train_batch(X, p["iterations"] * len(X))
        winners = np.array([som.winner(x) for x in X]) if spec.get("wantLabels") else None
        labels = None if winners is None else winners[:, 0] * p["cols"] + winners[:, 1]
    else:
        raise SystemExit(f"unknown algorithm {algorithm}")
    ms = (time.perf_counter() - t0) * 1000
    out = {"ms": ms, "cpuMs": (time.process_time() - c0) * 1000,
           "peakRssMb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if spec.get("wantLabels") and labels is not None:
        out["labels"] = [int(v) for v in labels]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
