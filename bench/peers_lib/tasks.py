"""tasks.py — the code that runs inside a peer's worker processes.

Kept to the standard library's os module, so a 'spawn' child imports next
to nothing beyond what the pool itself needs: the measured start-up is the
pool's, not this harness's.
"""
import os

_barrier = None


def init_worker(barrier):
    """Pool/executor initializer: keeps the start-up barrier in the worker."""
    global _barrier
    _barrier = barrier


def checkin(timeout):
    """Start-up task: blocks until N distinct workers hold one each.

    The barrier has N parties and a worker blocked here cannot take a second
    task, so the N check-ins come from N distinct processes, each of which
    has started, imported, run its initializer and served a request."""
    _barrier.wait(timeout)
    return os.getpid()


def echo(payload):
    """The ping: returns the payload, as wpool's worker echoes a Ping."""
    return payload
