"""make install, then a program built against the installed tree.

Installs into a temporary DESTDIR with PREFIX=/usr/local, builds a tiny C
program with `pkg-config --cflags --libs wpool` (PKG_CONFIG_PATH and
PKG_CONFIG_SYSROOT_DIR pointing into the tree), runs it against the
installed libwpool.so (LD_LIBRARY_PATH) on the installed workers — start a
pool, ping, stop — and checks what the library exports (wp_* only: exactly
what wpool.h marks WP_EXTERN), its soname, the installed `wpool` command
and the installed Python SDK. Then make uninstall leaves no file behind.

Run: /usr/bin/python3 tests/tools/test_install.py   (WPOOL_BUILD: build dir, default build)
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("WPOOL_BUILD", "build")
PREFIX = "/usr/local"
TIMEOUT = 60  # seconds, for any one command
with open(os.path.join(ROOT, "VERSION")) as f:
    VERSION = f.read().strip()
SONAME = "libwpool.so." + VERSION.split(".")[0]

PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include <uv.h>
#include <wpool.h>

static int start_err = 1, pinged, stopped;

static void on_stopped(wp_pool_t *p, void *arg) { (void)p; (void)arg; stopped = 1; }

static void on_reply(wp_pool_t *p, int err, const wp_reply_t *r, void *arg) {
  if (err == 0 && r->payload_len == 4 && memcmp(r->payload, "ping", 4) == 0) pinged = 1;
  else fprintf(stderr, "ping: %s\n", wp_strerror(err));
  wp_pool_stop(p, on_stopped, arg);
}

static void on_started(wp_pool_t *p, int err, void *arg) {
  start_err = err;
  wp_request_t req = {.kind = WP_REQ_PING, .payload = "ping", .payload_len = 4};
  if (err != 0 || wp_pool_call(p, &req, on_reply, arg) != 0) {
    fprintf(stderr, "start: %s\n", wp_strerror(err));
    wp_pool_stop(p, on_stopped, arg);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) return 2;
  char *worker[] = {argv[1], NULL};
  wp_options_t o;
  wp_options_init(&o);
  o.argv = worker;
  o.size = 2;
  if (wp_transport_parse(argv[2], &o.transport) != 0) return 2;
  uv_loop_t loop;
  uv_loop_init(&loop);
  wp_pool_t *p;
  if (wp_pool_new(&loop, &o, &p) != 0 || wp_pool_start(p, on_started, NULL) != 0) return 1;
  uv_run(&loop, UV_RUN_DEFAULT);
  wp_pool_free(p);
  uv_loop_close(&loop);
  printf("libwpool %s: started %d, pinged %d, stopped %d\n", wp_version(), start_err == 0,
         pinged, stopped);
  return start_err == 0 && pinged && stopped ? 0 : 1;
}
"""


def run(*cmd, env=None, cwd=None):
    return subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=TIMEOUT)


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="wpool-install-")
        cls.dest = os.path.join(cls.tmp, "root")
        cls.make = ["make", "-s", "-C", ROOT, "BUILD=" + BUILD, "DESTDIR=" + cls.dest,
                    "PREFIX=" + PREFIX]
        r = run(*cls.make, "install")
        if r.returncode != 0:
            shutil.rmtree(cls.tmp)
            raise AssertionError("make install failed:\n" + r.stdout + r.stderr)
        cls.prefix = cls.dest + PREFIX
        cls.lib = os.path.join(cls.prefix, "lib")
        cls.bin = os.path.join(cls.prefix, "bin")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def pkg_env(self):
        return dict(os.environ, PKG_CONFIG_PATH=os.path.join(self.lib, "pkgconfig"),
                    PKG_CONFIG_SYSROOT_DIR=self.dest)

    def build_program(self):
        src = os.path.join(self.tmp, "ping.c")
        exe = os.path.join(self.tmp, "ping")
        with open(src, "w") as f:
            f.write(PROGRAM)
        r = run("pkg-config", "--cflags", "--libs", "wpool", env=self.pkg_env())
        self.assertEqual(r.returncode, 0, r.stderr)
        flags = r.stdout.split()
        self.assertIn("-I" + os.path.join(self.prefix, "include"), flags)
        self.assertIn("-L" + self.lib, flags)
        r = run("cc", "-Wall", "-Wextra", "-Werror", "-o", exe, src, *flags)
        self.assertEqual(r.returncode, 0, r.stderr)
        return exe

    def test_pkg_config_version(self):
        r = run("pkg-config", "--modversion", "wpool", env=self.pkg_env())
        self.assertEqual((r.returncode, r.stdout.strip()), (0, VERSION), r.stderr)

    def test_program_pings_the_installed_workers(self):
        exe = self.build_program()
        # It needs the library by its soname, found in the installed tree.
        r = run("readelf", "-d", exe)
        self.assertIn(f"Shared library: [{SONAME}]", r.stdout)
        env = dict(os.environ, LD_LIBRARY_PATH=self.lib)
        env.pop("WPOOL_WORKER", None)
        r = run("ldd", exe, env=env)
        self.assertRegex(r.stdout, rf"{re.escape(SONAME)} => {re.escape(self.lib)}/")
        for transport in ("pipe", "grpc"):
            with self.subTest(transport=transport):
                r = run(exe, os.path.join(self.bin, "wpool-worker"), transport, env=env)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertEqual(r.stdout.strip(),
                                 f"libwpool {VERSION}: started 1, pinged 1, stopped 1")

    def test_library_files_and_soname(self):
        self.assertTrue(os.path.isfile(os.path.join(self.lib, "libwpool.a")))
        self.assertTrue(os.path.isfile(os.path.join(self.prefix, "include", "wpool.h")))
        real = "libwpool.so." + VERSION
        self.assertEqual(os.readlink(os.path.join(self.lib, SONAME)), real)
        self.assertEqual(os.path.realpath(os.path.join(self.lib, "libwpool.so")),
                         os.path.realpath(os.path.join(self.lib, real)))
        r = run("readelf", "-d", os.path.join(self.lib, real))
        self.assertIn(f"Library soname: [{SONAME}]", r.stdout)

    def test_exports_exactly_the_public_api(self):
        r = run("nm", "-D", "--defined-only", os.path.join(self.lib, "libwpool.so"))
        self.assertEqual(r.returncode, 0, r.stderr)
        exported = {ln.split()[-1] for ln in r.stdout.splitlines() if ln.strip()}
        with open(os.path.join(self.prefix, "include", "wpool.h")) as f:
            public = set(re.findall(r"^WP_EXTERN [^(]*?\b(wp_\w+)\(", f.read(), re.M))
        self.assertIn("wp_version", public)
        self.assertEqual(exported, public)

    def test_installed_command(self):
        wpool = os.path.join(self.bin, "wpool")
        r = run(wpool, "--version")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, "wpool " + VERSION), r.stderr)
        # Its default worker is the installed one beside it.
        env = dict(os.environ)
        env.pop("WPOOL_WORKER", None)
        r = run(wpool, "start", "-n", "1", "-q", env=env, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(os.access(os.path.join(self.bin, "wpool-worker-grpc"), os.X_OK))

    def test_python_sdk_finds_its_descriptor(self):
        mods = glob.glob(os.path.join(self.lib, "python3*", "dist-packages", "wpool_worker.py"))
        self.assertEqual(len(mods), 1, os.listdir(self.lib))
        code = ("import wpool_worker as w, wpool_zygote; print(w._INSTALLED_DESC); "
                "w.load_messages(sys.argv[1])")
        desc = os.path.join(PREFIX, "share", "wpool", "wpool.desc")
        env = dict(os.environ, PYTHONPATH=os.path.dirname(mods[0]))
        env.pop("WPOOL_DESC", None)
        r = run(sys.executable, "-c", "import sys; " + code, self.dest + desc, env=env,
                cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), desc)

    def test_uninstall_removes_every_file(self):
        dest = os.path.join(self.tmp, "again")
        make = [a if not a.startswith("DESTDIR=") else "DESTDIR=" + dest for a in self.make]
        r = run(*make, "install")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run(*make, "uninstall")
        self.assertEqual(r.returncode, 0, r.stderr)
        left = [os.path.join(d, f) for d, _, files in os.walk(dest) for f in files]
        self.assertEqual(left, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
