"""summary.py — the one-screen table bench/peers prints on stdout, read
back from the results document (so it shows exactly what was saved).

Medians of the rounds; '-' where a point was not measured or failed."""


def fmt(v):
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1e5:
        return f"{v / 1e3:.0f}k"
    if a >= 1e4:
        return f"{v / 1e3:.1f}k"
    if a >= 100:
        return f"{v:.0f}"
    if a >= 10:
        return f"{v:.1f}"
    if a >= 0.1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def print_summary(f, doc, path):
    cfg = doc["config"]
    med = {m["id"]: m["median"] for m in doc["metrics"]}
    nruns = {m["id"]: m["n"] for m in doc["metrics"]}
    systems, sizes, conc = cfg["systems"], cfg["sizes"], cfg["concurrency"]
    W = cfg["workers"]
    peers = [s for s in systems if s.startswith("python-")]
    git = doc["git"]
    sha = (git["commit"] or "nogit")[:7] + (" dirty" if git["dirty"] else "")
    cpus = ",".join(map(str, cfg["cpus"])) if cfg["cpus"] else "not pinned"
    h = doc["host"]
    f.write(f"wpool vs Python pools  {sha}  {h['cpus']} cpus, placement: {cpus}"
            f"  load {fmt(h['loadavg'][0]) if h['loadavg'] else '-'}\n")
    f.write(f"{len(doc['metrics'])} metrics, {cfg['reps']} rounds in "
            f"{doc['elapsed_s']:.0f} s → {path}\n")

    def table(title, cols, cell, rows=systems):
        w = [max(8, len(c)) + 1 for c in cols]
        f.write(f"\n{title:<30}" + "".join(f"{c:>{k}}" for c, k in zip(cols, w)) + "\n")
        for s in rows:
            f.write(f"  {s:<28}" + "".join(f"{fmt(cell(s, c)):>{k}}"
                                          for c, k in zip(cols, w)) + "\n")

    table("start-up, all served, ms", [f"n={n}" for n in sizes],
          lambda s, c: med.get(f"peers.startup.all_ready/{s}/{c}"))
    table(f"ping req/s, {W} workers", [f"c={c}" for c in conc],
          lambda s, c: med.get(f"peers.ping.rps/{s}/n={W}/{c}"))
    lat_c = [c for c in conc if c in (1, 10)] or conc[:2]
    cols = [f"c={c} {p}" for c in lat_c for p in ("p50", "p99", "p99.9")]
    table("latency us", cols, lambda s, col: med.get(
        "peers.ping.{}/{}/n={}/{}".format(col.split()[1].replace(".", "_"), s, W,
                                          col.split()[0])))
    table(f"memory RSS MiB, {W} workers", ["super", "worker"], lambda s, c: med.get(
        f"peers.mem.{'supervisor' if c == 'super' else 'worker'}_rss/{s}/n={W}"))
    if any(k.startswith("peers.ratio.") for k in med):
        table("wpool-pipe ÷ peer: start-up", [f"n={n}" for n in sizes],
              lambda s, c: med.get(f"peers.ratio.startup/{s}/{c}"), peers)
        table("wpool-pipe ÷ peer: req/s", [f"c={c}" for c in conc],
              lambda s, c: med.get(f"peers.ratio.rps/{s}/n={W}/{c}"), peers)
        f.write("start-up ratio < 1 and req/s ratio > 1: wpool is ahead; "
                "median of per-round ratios\n")
    few = sorted({n for n in nruns.values()})
    f.write(f"runs per metric: {', '.join(map(str, few))}\n")
