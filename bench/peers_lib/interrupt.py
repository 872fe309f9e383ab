"""interrupt.py — SIGINT, SIGTERM and SIGHUP to bench/peers.

Owns: the signal handlers and the wpool-baseline child they forward to.
As every wpool program that holds a pool (issue 12): a signal runs the
pools' normal stop, one line says what was interrupted, exit 128 + signal.
The handler only records the signal (and forwards it, below); the harness
notices it where it waits (wait(), check()) and raises Interrupted there,
so its finally blocks terminate the Python pool being measured. Raising
from the handler itself could land inside multiprocessing's own
bookkeeping and leave a pool that never joins.

While wpool-baseline runs, the signal is forwarded to it: it stops its own
pool (EOF, grace, TERM, KILL), and a second signal, forwarded too, makes it
kill its workers at once; run_child raises Interrupted once it has exited.
The child runs in its own session: a Ctrl-C on the terminal reaches only
bench/peers, which forwards it once — had the child seen the terminal's
signal too, the forwarded copy would be its "second Ctrl-C". A forked pool
worker gets the default handlers back, or the pool's terminate() (SIGTERM)
would not end it.
"""
import os
import signal
import subprocess
import time

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """Like KeyboardInterrupt: no `except Exception` in the harness eats it."""

    def __init__(self, sig):
        super().__init__(signal.Signals(sig).name)
        self.sig = sig


_child = None     # the running wpool-baseline (a Popen), or None
_received = None  # the first signal received


def _on_signal(sig, frame):
    global _received
    if _received is None:
        _received = sig
    if _child is not None and _child.returncode is None:
        _child.send_signal(sig)


def _defaults():
    for s in SIGNALS:
        signal.signal(s, signal.default_int_handler if s == signal.SIGINT
                      else signal.SIG_DFL)


def install():
    for s in SIGNALS:
        signal.signal(s, _on_signal)
    os.register_at_fork(after_in_child=_defaults)


def check():
    """Raises Interrupted if a signal came."""
    if _received is not None:
        raise Interrupted(_received)


def wait(event, timeout):
    """event.wait(timeout) that raises Interrupted when a signal comes."""
    end = time.monotonic() + timeout
    while not event.is_set():
        check()
        left = end - time.monotonic()
        if left <= 0:
            return False
        event.wait(min(left, 0.05))
    return True


def run_child(cmd, timeout, cwd=None):
    """Runs cmd to its end, forwarding our signals to it: (exit code,
    stdout, stderr). subprocess.TimeoutExpired after killing it on timeout;
    Interrupted once it has exited if a signal came meanwhile."""
    global _child
    check()  # a signal that came already: do not start it
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.DEVNULL, text=True, cwd=cwd,
                         start_new_session=True)
    _child = p
    # A signal that came while Popen ran found no child to forward to.
    if _received is not None:
        p.send_signal(_received)
    try:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise
    finally:
        _child = None
    check()
    return p.returncode, out, err
