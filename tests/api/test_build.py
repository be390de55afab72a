"""The build on a fresh machine: `make -jN` must finish installing packages
(scripts/deps.sh) before any compiler starts, whatever N is.

A copy of the Makefile and the source tree runs in a temp dir with a fake
scripts/deps.sh (it takes a second, then leaves a marker, as an apt-get
install would leave jansson.h) and a fake compiler that fails when it runs
before the marker exists, as cc failed on a fresh machine without
jansson.h. Nothing is installed and nothing real is compiled."""

import os
import shutil
import subprocess

from harness import ROOT, SCALE, eq, ok, tmpdir

FAKE_DEPS = """#!/bin/sh
# Stands in for apt-get: slow, and only then are the headers there.
echo "$1" >> "$(dirname "$0")/../deps.calls"
sleep 1
touch "$(dirname "$0")/../deps.done"
"""

FAKE_CC = """#!/bin/sh
# Stands in for cc: fails when the packages are not installed yet.
top=%(top)s
[ -f "$top/deps.done" ] || { echo "cc ran before deps finished: $*" >&2; exit 1; }
out=""
while [ $# -gt 0 ]; do
  if [ "$1" = "-o" ]; then out="$2"; shift; fi
  shift
done
[ -n "$out" ] && mkdir -p "$(dirname "$out")" && : > "$out"
"""


def _tree():
    d = tmpdir("build")
    for f in ("Makefile",):
        shutil.copy(os.path.join(ROOT, f), d)
    for sub in ("src", "tests/unit", "bench"):
        shutil.copytree(os.path.join(ROOT, sub), os.path.join(d, sub),
                        ignore=shutil.ignore_patterns("__pycache__"))
    os.makedirs(os.path.join(d, "scripts"))
    for name, text in (("scripts/deps.sh", FAKE_DEPS), ("fakecc", FAKE_CC % {"top": d})):
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, 0o755)
    return d


def _make(d, *args):
    p = subprocess.run(["make", "--no-print-directory", "CC=" + os.path.join(d, "fakecc")] + list(args),
                       cwd=d, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=120 * SCALE)
    return p


def _fresh_parallel_build(*targets):
    d = _tree()
    p = _make(d, "-j4", *targets)
    ok(p.returncode == 0, "make -j4 %s on a fresh machine: exit %d; stderr: %s" % (
        " ".join(targets) or "(all)", p.returncode, p.stderr.strip()[-600:]))
    return d


def test_parallel_make_waits_for_deps():
    d = _fresh_parallel_build()
    ok(os.path.exists(os.path.join(d, "build", "cairn")), "make -j4 built no build/cairn")


def test_parallel_test_binaries_wait_for_deps():
    # What `make test` builds after its own deps step, asked for directly.
    d = _fresh_parallel_build("build/cairn", "build/asan/cairn", "build/unit", "build/asan/unit")
    for b in ("build/cairn", "build/asan/cairn", "build/unit", "build/asan/unit"):
        ok(os.path.exists(os.path.join(d, b)), "make -j4 built no %s" % b)


def test_up_to_date_build_still_checks_deps():
    # `make run` on a built tree still installs what went missing.
    d = _fresh_parallel_build()
    os.remove(os.path.join(d, "deps.calls"))
    p = _make(d, "-j4")
    eq(p.returncode, 0, "second make -j4: exit code (stderr %r)" % p.stderr[-300:])
    with open(os.path.join(d, "deps.calls")) as f:
        eq(f.read().split(), ["build"], "scripts/deps.sh calls by an up-to-date make")
