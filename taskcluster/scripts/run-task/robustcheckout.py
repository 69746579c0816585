"""hg robustcheckout: bring a working copy to one revision, retrying the network.

graphgen's own small Mercurial extension for CI checkouts:

    hg robustcheckout (--revision REV | --branch BRANCH) [--sharebase DIR]
                      [--upstream URL] [--purge] [--networkattempts N] URL DEST

leaves DEST a working copy of REV (or of BRANCH's head) from URL:

- With --sharebase (or the share.pool setting), the history is kept in a
  store under DIR, named after a SHA-1 of the URL it is first cloned from,
  and DEST is a share of it: checkouts of one repository into several
  directories download its history once. Without it, DEST is a plain clone.
- The first clone is made from --upstream when given (a mirror, say), and
  the revision is then pulled from URL. When REV is already there, nothing
  is downloaded; a --branch is always pulled, since its head moves.
- Cloning and pulling are tried up to N times (3 by default), with a growing
  pause in between; a clone that fails leaves nothing behind.
- The update is a clean one (`hg update --clean`): local changes are lost.
  --purge also deletes untracked and ignored files first.

It does this by running the same `hg` program's clone, share, pull, purge
and update commands, so it leans on Mercurial's command line rather than on
its internal API. What it leaves out: sparse checkouts, detection of stores
that are shared under a different URL, and recovery from corrupt stores.
It is not used by graphgen's run-task, which checks out with git; it is
installed in images for tasks that check Mercurial repositories out.
"""

import hashlib
import os
import random
import shutil
import subprocess
import time

from mercurial import error, registrar
from mercurial.utils import procutil

testedwith = b"7.2"
minimumhgversion = b"5.0"

cmdtable = {}
command = registrar.command(cmdtable)


def _text(value):
    return os.fsdecode(value) if isinstance(value, bytes) else value


def _say(ui, message):
    ui.status(("robustcheckout: %s\n" % message).encode("utf-8"))


def _hg(ui, *args, capture=False):
    """Runs hg with args; returns its exit code, or its output if capture."""
    argv = [_text(procutil.hgexecutable())] + [_text(a) for a in args]
    ui.flush()
    result = subprocess.run(
        argv,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.DEVNULL if capture else None,
    )
    if capture:
        return result.stdout.decode("utf-8").strip() if result.returncode == 0 else None
    return result.returncode


def _with_retries(ui, what, attempts, action):
    """Calls action() until it returns True, at most attempts times."""
    for attempt in range(1, attempts + 1):
        if action():
            return
        if attempt < attempts:
            pause = 2**attempt + random.uniform(0, 2)
            _say(
                ui,
                "%s failed; trying again in %.0fs (%d/%d)" % (what, pause, attempt + 1, attempts),
            )
            time.sleep(pause)
    raise error.Abort(("%s failed %d times" % (what, attempts)).encode("utf-8"))


def _clone(ui, source, dest, attempts):
    """Clones source into dest without a working copy, through a temporary
    directory so that a failed clone leaves nothing at dest."""
    partial = dest + ".partial"

    def attempt():
        shutil.rmtree(partial, ignore_errors=True)
        return _hg(ui, "clone", "--noupdate", source, partial) == 0

    _say(ui, "cloning %s into %s" % (source, dest))
    _with_retries(ui, "clone of %s" % source, attempts, attempt)
    os.rename(partial, dest)


def _prepare(ui, url, dest, upstream, sharebase, attempts):
    """Makes dest a repository (a share of the store when sharebase is set)."""
    first_source = upstream or url
    store = None
    if sharebase:
        key = hashlib.sha1(first_source.encode("utf-8")).hexdigest()
        store = os.path.join(os.path.realpath(sharebase), key)

    dot_hg = os.path.join(dest, ".hg")
    if os.path.isdir(dot_hg) and store:
        try:
            with open(os.path.join(dot_hg, "sharedpath")) as f:
                shared = f.read().strip()
        except FileNotFoundError:
            shared = None
        if shared != os.path.join(store, ".hg") or not os.path.isdir(shared):
            _say(ui, "%s does not share %s; checking out afresh" % (dest, store))
            shutil.rmtree(dest)
    if os.path.isdir(dot_hg):
        return
    if os.path.exists(dest) and os.listdir(dest):
        raise error.Abort(("%s exists and is not a Mercurial working copy" % dest).encode("utf-8"))

    if not store:
        parent = os.path.dirname(dest)
        if parent:
            os.makedirs(parent, exist_ok=True)
        if os.path.isdir(dest):
            os.rmdir(dest)
        _clone(ui, first_source, dest, attempts)
    else:
        if not os.path.isdir(os.path.join(store, ".hg")):
            os.makedirs(os.path.dirname(store), exist_ok=True)
            _clone(ui, first_source, store, attempts)
        if os.path.isdir(dest):
            os.rmdir(dest)
        if _hg(ui, "--config", "extensions.share=", "share", "--noupdate", store, dest) != 0:
            raise error.Abort(("could not share %s into %s" % (store, dest)).encode("utf-8"))
    with open(os.path.join(dot_hg, "hgrc"), "a") as f:
        f.write("\n[paths]\ndefault = %s\n" % url)


@command(
    b"robustcheckout",
    [
        (b"", b"upstream", b"", b"URL to make the first clone from, instead of URL"),
        (b"r", b"revision", b"", b"revision to check out (a hash of 12 to 40 digits)"),
        (b"b", b"branch", b"", b"branch whose head to check out"),
        (b"", b"purge", False, b"delete untracked and ignored files"),
        (b"", b"sharebase", b"", b"directory of the shared stores"),
        (b"", b"networkattempts", 3, b"attempts at each clone or pull"),
    ],
    b"[OPTION]... URL DEST",
    norepo=True,
)
def robustcheckout(ui, url, dest, **opts):
    """check a revision out, pooling history and retrying the network"""
    url = _text(url)
    dest = os.path.abspath(_text(dest))
    revision = _text(opts.get("revision") or b"")
    branch = _text(opts.get("branch") or b"")
    upstream = _text(opts.get("upstream") or b"")
    sharebase = _text(opts.get("sharebase") or ui.config(b"share", b"pool") or b"")
    attempts = max(1, int(opts.get("networkattempts") or 3))
    if bool(revision) == bool(branch):
        raise error.Abort(b"pass one of --revision and --branch")
    if revision and not (
        12 <= len(revision) <= 40 and all(c in "0123456789abcdef" for c in revision)
    ):
        raise error.Abort(b"--revision takes a hash of 12 to 40 lowercase hex digits")

    _prepare(ui, url, dest, upstream, sharebase, attempts)

    wanted = revision or branch
    known = revision and _hg(ui, "-R", dest, "log", "-r", revision, "-T", "{node}", capture=True)
    if known:
        _say(ui, "%s is already in %s" % (revision, dest))
    else:
        _say(ui, "pulling %s from %s" % (wanted, url))
        _with_retries(
            ui,
            "pull of %s" % url,
            attempts,
            lambda: _hg(ui, "-R", dest, "pull", "-r", wanted, url) == 0,
        )

    if opts.get("purge"):
        _say(ui, "deleting untracked and ignored files")
        if _hg(ui, "-R", dest, "--config", "extensions.purge=", "purge", "--all") != 0:
            raise error.Abort(b"purge failed")
    if _hg(ui, "-R", dest, "update", "--clean", "-r", wanted) != 0:
        raise error.Abort(("could not update %s to %s" % (dest, wanted)).encode("utf-8"))
    node = _hg(ui, "-R", dest, "log", "-r", ".", "-T", "{node}", capture=True)
    _say(ui, "%s is at %s" % (dest, node))
    return 0
