"""doc.py — the "wpool.bench/1" results document, written from Python.

The same fields as bench/lib/results/results.c writes (results/README.md):
schema, tool, created_at, git, host, build, config, metrics. validate()
applies wb_results_validate's rules, so a file that passes here loads in
bench/compare and bench/report. A fact that cannot be read is None (null),
never a guess.
"""
import datetime
import json
import math
import os
import subprocess

SCHEMA = "wpool.bench/1"


def median(xs):
    """Median; the mean of the middle two for an even count (as stats.c)."""
    s = sorted(xs)
    n = len(s)
    if n == 0:
        raise ValueError("median of no runs")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def percentile_supported(samples, p):
    """The rule bench/baseline follows: a percentile is reported only with at
    least 10 samples beyond it (P99 from 1,000 samples, P99.9 from 10,000);
    a tail estimated from one or two samples is noise, not a figure."""
    return samples * (100.0 - p) / 100.0 >= 10 - 1e-9


def percentile(sorted_xs, p):
    """Exact nearest-rank percentile of already sorted samples: the
    smallest sample with at least p % of the samples at or below it."""
    n = len(sorted_xs)
    if n == 0:
        raise ValueError("percentile of no samples")
    # round() first: 99.9 / 100 * 2000 is 1998.0000000000002 in binary.
    rank = max(1, math.ceil(round(p / 100.0 * n, 9)))
    return sorted_xs[min(rank, n) - 1]


def created_at():
    """UTC, ISO-8601 with microseconds: compare orders runs by this text."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _git(repo, *args):
    try:
        r = subprocess.run(["git", "-C", repo, *args], capture_output=True,
                           text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout if r.returncode == 0 else None


def git_info(repo):
    commit = _git(repo, "rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = _git(repo, "status", "--porcelain")
    return {"commit": commit.strip(),
            "dirty": None if status is None else bool(status.strip())}


def _file_field(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key) and ":" in line:
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def _first_line(path):
    try:
        with open(path) as f:
            return f.readline().strip() or None
    except OSError:
        return None


def host_info():
    u = os.uname()
    try:
        mem = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        mem = None
    try:
        load = list(os.getloadavg())
    except OSError:
        load = None
    return {
        "cpu_model": _file_field("/proc/cpuinfo", "model name"),
        "cpus": os.sysconf("SC_NPROCESSORS_ONLN"),
        "kernel": u.release,
        "arch": u.machine,
        "mem_bytes": mem,
        "loadavg": load,
        "cpuidle_governor": _first_line(
            "/sys/devices/system/cpu/cpuidle/current_governor"),
        "cpu_affinity": sorted(os.sched_getaffinity(0)),
    }


def new_document(tool, config, repo, build):
    return {
        "schema": SCHEMA,
        "tool": tool,
        "created_at": created_at(),
        "git": git_info(repo),
        "host": host_info(),
        "build": build,
        "config": config,
        "metrics": [],
    }


def metric(id_, unit, better, params, runs):
    """One metrics[] entry with its summary, as wb_metric_add stores it."""
    if better not in ("lower", "higher"):
        raise ValueError(f"{id_}: better must be lower or higher")
    runs = [float(x) for x in runs]
    if not runs or not all(math.isfinite(x) for x in runs):
        raise ValueError(f"{id_}: no runs, or a non-finite run")
    return {"id": id_, "unit": unit, "better": better, "params": params,
            "n": len(runs), "median": median(runs), "min": min(runs),
            "max": max(runs), "runs": runs}


def validate(doc):
    """wb_results_validate's rules; None when valid, else the reason."""
    if not isinstance(doc, dict):
        return "top level is not an object"
    if doc.get("schema") != SCHEMA:
        return f"schema is {doc.get('schema')!r}, expected {SCHEMA!r}"
    metrics = doc.get("metrics")
    if not isinstance(metrics, list):
        return "metrics missing"
    seen = set()
    for i, m in enumerate(metrics):
        id_ = m.get("id") if isinstance(m, dict) else None
        if not isinstance(id_, str) or not id_:
            return f"metric {i}: not an object with a string id"
        if not isinstance(m.get("unit"), str):
            return f"metric {id_}: unit missing"
        if m.get("better") not in ("lower", "higher"):
            return f"metric {id_}: better must be \"lower\" or \"higher\""
        runs = m.get("runs")
        if (not isinstance(runs, list) or not runs or
                not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                        for x in runs)):
            return f"metric {id_}: runs missing, empty or not numbers"
        if not isinstance(m.get("median"), (int, float)):
            return f"metric {id_}: median missing"
        if id_ in seen:
            return f"metric {id_} appears twice"
        seen.add(id_)
    return None


def write_atomic(doc, path):
    """A temporary file beside path, fsync, rename: no reader ever sees
    half a file (as wb_results_write)."""
    tmp = f"{path}.tmp.{os.getpid()}"
    try:
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=2, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
