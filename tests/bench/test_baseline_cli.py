"""build/wpool-baseline interrupted: SIGINT or SIGTERM during the
instructions scenario (valgrind runs of build/wpool) ends the program with
one line and exit 128 + the signal, and leaves no /tmp/wpool-instr-*
directory and no wpool process behind.

Skipped without valgrind. Run: /usr/bin/python3 tests/bench/test_baseline_cli.py
(WPOOL_BUILD: build dir, default build)
"""
import glob
import os
import shutil
import signal
import subprocess
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, os.environ.get("WPOOL_BUILD", "build"))
BASELINE = os.path.join(BUILD, "wpool-baseline")


def instr_dirs():
    return set(glob.glob("/tmp/wpool-instr-*"))


def group_alive(pgid):
    """Processes of the group, zombies skipped (PID 1 reaps them late)."""
    alive = []
    for d in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(d) as f:
                st = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(st[2]) == pgid and st[0] != "Z":
            alive.append(d)
    return alive


def reset_signals():
    # A shell's background job ignores SIGINT; a terminal's Ctrl-C doesn't.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.setsid()


@unittest.skipUnless(shutil.which("valgrind"), "valgrind is not installed")
class Interrupted(unittest.TestCase):
    def interrupt(self, sig):
        before = instr_dirs()
        p = subprocess.Popen([BASELINE, "--only", "instructions", "--no-charts",
                              "--out", os.devnull], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True,
                             preexec_fn=reset_signals)
        mine = set()
        deadline = time.monotonic() + 60
        while not mine and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.1)
            mine = instr_dirs() - before
        self.assertTrue(mine, "the scenario made no /tmp/wpool-instr-* directory")
        time.sleep(1.0)  # valgrind is running wpool now
        os.killpg(p.pid, sig)  # as Ctrl-C does: the whole foreground group
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 128 + sig, err)
        self.assertEqual(mine & instr_dirs(), set(), "left behind")
        self.assertIn("interrupted the instructions scenario", err.splitlines()[-1])
        time.sleep(0.5)
        self.assertEqual(group_alive(p.pid), [], "processes outlived the run")

    def test_sigint(self):
        self.interrupt(signal.SIGINT)

    def test_sigterm(self):
        self.interrupt(signal.SIGTERM)


if __name__ == "__main__":
    unittest.main()
