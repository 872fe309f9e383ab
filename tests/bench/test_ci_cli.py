"""bench/ci, the pull-request check, on an A/A pair: this clean checkout's
HEAD as the base against its own working tree (bench/ab runs both sides
from this build, so no second build), 16 rounds (median bounds at
bench/ab's level need 12 or more, 2^-n < 0.01/12; 10 left them 0-inf).
Nothing may be called a regression; the counters that do not drift
(syscalls and context switches per request) must say "no regression",
while wall figures may stay inconclusive on a loaded machine (exit 0
or 3). The
summary is appended to $GITHUB_STEP_SUMMARY (what was there stays), and
--html writes the A/B page. Bad input: exit 2, one line.

Skips when the working tree has uncommitted changes: bench/ab would then
build HEAD separately, which takes minutes.

Run: /usr/bin/python3 tests/bench/test_ci_cli.py   (WPOOL_BUILD: build dir, default build)
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CI = os.path.join(ROOT, "bench", "ci")


def run_ci(*args, env=None, timeout=240):
    return subprocess.run([CI, *args], capture_output=True, text=True, timeout=timeout,
                          cwd=ROOT, env=env)


def dirty():
    return subprocess.run(["git", "-C", ROOT, "status", "--porcelain"], capture_output=True,
                          text=True, check=True).stdout.strip() != ""


class AA(unittest.TestCase):
    @unittest.skipIf(dirty(), "uncommitted changes: bench/ab would build HEAD apart (minutes)")
    def test_head_against_itself(self):
        with tempfile.TemporaryDirectory() as tmp:
            summary = os.path.join(tmp, "summary.md")
            with open(summary, "w") as f:
                f.write("earlier step\n")
            env = dict(os.environ, GITHUB_STEP_SUMMARY=summary)
            r = run_ci("HEAD", "--rounds", "16", "--html", os.path.join(tmp, "page"), env=env)
            with open(summary) as f:
                text = f.read()
            rounds = re.search(r"the rounds: `([^`]+)`", text)
            if rounds:
                self.addCleanup(shutil.rmtree, rounds.group(1), True)
            self.assertIn(r.returncode, (0, 3), r.stderr)
            self.assertTrue(text.startswith("earlier step\n## wpool performance: "), text)
            self.assertIn("| `cost.sup_syscalls/pipe/checkout/n=1/c=1` |", text)
            for line in text.splitlines():
                if line.startswith("| `"):
                    self.assertFalse(line.endswith("| regression |"), line)
                if "syscalls/" in line or "csw/" in line:
                    self.assertTrue(line.endswith("| no regression |"), line)
            self.assertEqual(r.stdout, "")
            self.assertRegex(r.stderr.splitlines()[-1], r"^ci: (no regression|inconclusive) \(exit [03]\)$")
            with open(os.path.join(tmp, "page", "report.html")) as f:
                page = f.read()
            self.assertIn("wpool A/B: <span class=", page)
            self.assertNotIn("<script", page)


class BadInput(unittest.TestCase):
    def test_unknown_base(self):
        r = run_ci("no-such-revision-xyz", "--rounds", "1")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stderr.strip().splitlines(), ["ab: unknown revision 'no-such-revision-xyz'"])
        self.assertEqual(r.stdout, "")

    def test_usage(self):
        r = run_ci("--bogus")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.strip(), "ci: unknown option '--bogus' (see --help)")
        r = run_ci("A", "B")
        self.assertEqual(r.returncode, 2)
        self.assertIn("one BASE only", r.stderr)
        self.assertEqual(run_ci("--help").returncode, 0)

    def test_no_merge_base(self):
        has = subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", "-q", "origin/main"],
                             capture_output=True).returncode == 0
        if has:
            self.skipTest("origin/main exists here: the default BASE resolves")
        r = run_ci("--rounds", "1")
        self.assertEqual(r.returncode, 2)
        self.assertIn("ci: no merge base with origin/main", r.stderr)


if __name__ == "__main__":
    unittest.main()
