"""bench/ab's bad input: an unknown revision, and a revision that does not
build, each get one line on stderr and exit 2 (the judge's verdicts are
tested on synthetic rounds in tests/bench/test_ab.c).

The unbuildable revision is a commit object made with git's plumbing (a
temporary index, a Makefile that stops with $(error)) that no branch
points to; its worktree under build/ab/ is removed afterwards.

Run: /usr/bin/python3 tests/bench/test_ab_cli.py   (WPOOL_BUILD: build dir, default build)
"""
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AB = os.path.join(ROOT, "bench", "ab")


def git(*args, env=None):
    return subprocess.run(["git", "-C", ROOT, *args], capture_output=True,
                          text=True, check=True, env=env).stdout.strip()


def run_ab(*args, timeout=300):
    return subprocess.run([AB, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def broken_commit():
    """HEAD with a Makefile that fails at once; a dangling commit."""
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, GIT_INDEX_FILE=os.path.join(tmp, "index"))
        git("read-tree", "HEAD", env=env)
        blob = subprocess.run(["git", "-C", ROOT, "hash-object", "-w", "--stdin"],
                              input="$(error deliberately broken for test_ab_cli)\n",
                              capture_output=True, text=True, check=True).stdout.strip()
        git("update-index", "--cacheinfo", f"100644,{blob},Makefile", env=env)
        tree = git("write-tree", env=env)
    return git("commit-tree", tree, "-p", "HEAD", "-m", "test_ab_cli: does not build")


class BadInput(unittest.TestCase):
    def one_line_exit_2(self, r, needle):
        """Exit 2, one line saying why (after any "ab: building" progress)."""
        self.assertEqual(r.returncode, 2, r.stderr)
        lines = [ln for ln in r.stderr.splitlines() if not ln.startswith("ab: building ")]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertEqual(lines[0], r.stderr.splitlines()[-1])
        self.assertIn(needle, r.stderr)
        self.assertEqual(r.stdout, "")

    def test_unknown_revision(self):
        r = run_ab("--quick", "no-such-revision-xyz")
        self.one_line_exit_2(r, "ab: unknown revision 'no-such-revision-xyz'")
        r = run_ab("--quick", "HEAD", "no-such-revision-xyz")
        self.one_line_exit_2(r, "unknown revision 'no-such-revision-xyz'")

    def test_usage(self):
        self.one_line_exit_2(run_ab("--rounds", "0", "HEAD"), "--rounds")
        self.one_line_exit_2(run_ab("--bogus", "HEAD"), "unknown option '--bogus'")
        self.one_line_exit_2(run_ab(), "expected BASE [HEAD]")

    def test_judge_options_checked_before_the_rounds(self):
        """--threshold abc was found by the judge only after every round."""
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "rounds")
            for opt, val, needle in (("--threshold", "abc", "--threshold: 'abc'"),
                                     ("--alpha", "2", "--alpha: '2'")):
                r = run_ab("--rounds", "1", "--out", out, opt, val, "HEAD", timeout=120)
                self.one_line_exit_2(r, needle)
                self.assertNotIn("ab: ab:", r.stderr)
                self.assertFalse(os.path.exists(out), "rounds ran before the check")

    def test_revision_that_does_not_build(self):
        sha = broken_commit()
        build = os.environ.get("WPOOL_BUILD", "build")
        wt = os.path.join(ROOT, build, "ab", sha)
        try:
            r = run_ab("--rounds", "1", sha)
            self.one_line_exit_2(r, "does not build (log: ")
            log = r.stderr.split("(log: ")[1].rstrip(")\n")
            with open(log) as f:
                self.assertIn("deliberately broken", f.read())
            self.assertFalse(os.path.exists(os.path.join(wt, "build", ".ab-built")))
        finally:
            subprocess.run(["git", "-C", ROOT, "worktree", "remove", "--force", wt],
                           capture_output=True)
            subprocess.run(["git", "-C", ROOT, "worktree", "prune"], capture_output=True)
            if os.path.exists(wt + ".log"):
                os.unlink(wt + ".log")


if __name__ == "__main__":
    unittest.main()
