"""bench/peers: wpool side by side with the Python pools users would
otherwise pick (see bench/peers --help and bench/peers_lib/README.md).

Kept empty on purpose: a 'spawn' worker imports peers_lib.tasks, and with it
this package, at every start; it must not pull the harness in."""
