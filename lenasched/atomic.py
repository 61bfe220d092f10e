"""Atomic, durable file writes: the output appears whole or not at all, and survives a crash.

A calendar handed to a patient must never be half a file, a file nobody else should read, or a
device, pipe or linked file the user did not mean. ``write_atomic`` therefore

* writes to a temporary file beside the target (same file system, so the rename is atomic) with an
  unguessable name (``tempfile.mkstemp``: created ``O_EXCL``, mode 0600 until it is complete);
* gives a new file the mode the caller's umask allows (``0o666 & ~umask``: 0600 under ``umask 077``),
  and a replaced file its old permission bits;
* fsyncs the file before the rename and the directory after it, so after a power cut the target is
  either the old file or the whole new one;
* refuses a target that is not a regular file, or a read-only one unless ``force=True``;
* removes its own temporaries left by an interrupted run (see ``STALE_AFTER_SECONDS``).

Every failure is an ``OutputError`` (a ``LenaschedError``) naming the path; the target is then
untouched and no temporary is left behind.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import tempfile
import time
from pathlib import Path

from lenasched.errors import OutputError

__all__ = ["STALE_AFTER_SECONDS", "TEMP_SUFFIX", "write_atomic"]

TEMP_SUFFIX = ".lenasched-tmp"
"""Ends the name of every temporary file (``.NAME.XXXXXXXX.lenasched-tmp``), so one is recognisable."""

STALE_AFTER_SECONDS = 3600
"""A temporary untouched this long belongs to a run that died (``kill -9``, power cut) and is removed.

Age, not "is the writer's pid alive": a write takes milliseconds, so an hour cannot catch a live
writer, and age means the same on every platform (``os.kill(pid, 0)`` terminates the process on
Windows), across containers (pid namespaces) and across machines sharing a network folder, where a pid
check would delete another host's live temporary or keep a dead one whose pid was reused.
"""

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _reason(exc: OSError) -> str:
    """The system's words for ``exc`` (``No space left on device``), even if it was raised bare."""
    if exc.strerror:
        return exc.strerror
    return os.strerror(exc.errno) if exc.errno else str(exc)


def _umask() -> int:
    """The process umask, which can only be read by setting it.

    The umask is process-wide, so for an instant another thread creating a file sees the value set
    here: 0o077, the most private one, so that instant can only make a file too private, never public.
    """
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _mode_for(target: Path, force: bool) -> int:
    """The permission bits the new file gets; refuses a target that must not be replaced."""
    try:
        st = os.lstat(target)  # lstat: a symbolic link is judged itself, never the file it points to
    except FileNotFoundError:
        return 0o666 & ~_umask()
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {_reason(exc)}") from None
    for is_kind, kind in _KINDS:
        if is_kind(st.st_mode):
            hint = "" if kind == "a directory" else "; give a regular file (or - for standard output)"
            raise OutputError(f"cannot write {target}: it is {kind}, not a regular file{hint}")
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"cannot write {target}: it is not a regular file")
    mode = stat.S_IMODE(st.st_mode) & 0o777  # never carry set-uid/set-gid/sticky onto new content
    # The owner bit, not os.access alone: as root os.access says yes to everything, yet mode 0444 still
    # means "someone marked this file as not to be changed".
    if not force and (not mode & stat.S_IWUSR or not os.access(target, os.W_OK)):
        raise OutputError(f"cannot write {target}: it is read-only (mode {mode:04o}); use --force to replace it")
    return mode


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; skipped where directories cannot be opened or synced (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF, errno.EACCES):
            raise
    finally:
        os.close(fd)


def _remove_stale(target: Path) -> tuple[Path, ...]:
    """Remove this target's own temporaries older than ``STALE_AFTER_SECONDS``; best effort.

    Only names ``write_atomic`` makes for exactly this target match (the random part has no dot, so
    ``.a.b.X.lenasched-tmp`` of ``a.b`` is never taken for one of ``a``), and only regular files.
    """
    pattern = re.compile(re.escape(f".{target.name}.") + r"[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX))
    cutoff = time.time() - STALE_AFTER_SECONDS
    removed: list[Path] = []
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return ()
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                os.unlink(entry.path)
                removed.append(target.parent / entry.name)
        except OSError:
            continue  # another run removed it, or it is not ours to remove: never block the write
    return tuple(sorted(removed))


def write_atomic(path: str | Path, data: str | bytes, *, force: bool = False) -> tuple[Path, ...]:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all; see the module docstring.

    ``force=True`` replaces a read-only file (keeping its mode). Returns the stale temporaries of
    earlier interrupted writes to this target that were removed, so the caller can say so.
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    mode = _mode_for(target, force)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {_reason(exc)}") from None
    try:
        try:
            view = memoryview(payload)
            while view:  # os.write may write less than asked
                view = view[os.write(fd, view) :]
            os.chmod(tmp, mode)  # before fsync, so the mode is as durable as the bytes
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"cannot write {target}: {_reason(exc)}") from None
    except BaseException:  # Ctrl-C mid-write: no temporary left behind either
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        _fsync_directory(target.parent)
    except OSError as exc:
        raise OutputError(
            f"cannot write {target}: {_reason(exc)} (the file is in place but may not survive a crash)"
        ) from None
    return _remove_stale(target)
