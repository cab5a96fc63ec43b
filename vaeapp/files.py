"""Safe access to files a user may have handed us: links refused, special files refused, reads
bounded, writes atomic, locks that die with their holder.

A run folder, a data folder or a cache can come from anywhere (a colleague's zip, a download), so
nothing here follows a symbolic link in the last component of a path (O_NOFOLLOW), blocks on a
FIFO (O_NONBLOCK, then a regular-file check on the open descriptor), or reads more than its
caller's bound. Writes go to a temp file beside the target, are fsynced and renamed over it: a
crash or a full disk leaves the previous file intact, and a rename replaces a link itself, never
what it points to. Temp files of a writer that died are removed at the next write.
"""

from __future__ import annotations

import errno
import fcntl
import glob
import os
import secrets
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from vaeapp.errors import UnsafeFileError, WriteError

READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
READ_THROUGH_LINKS = READ & ~os.O_NOFOLLOW
LOCK_ATTEMPTS = 20
TEMP_SUFFIX = ".tmp"


def _a_link(path: Path | str) -> str:
    return f"{path} is a symbolic link; vaeapp does not follow links here"


def _describe(path: Path | str, error: OSError) -> str:
    if error.errno == errno.ELOOP:
        return _a_link(path)
    if error.errno == errno.ENXIO:
        return f"{path} is not a regular file (a FIFO or socket)"
    if error.errno == errno.EISDIR:
        return f"{path} is a directory, not a file"
    return f"cannot open {path} ({error.strerror or error})"


def _open(path: Path, flags: int, mode: int = 0o644) -> int:
    """A descriptor of a regular file at `path`, never through a link, never blocking."""
    try:
        fd = os.open(path, flags, mode)
    except OSError as error:
        if error.errno == errno.ENOENT:
            raise
        raise UnsafeFileError(_describe(path, error)) from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UnsafeFileError(_not_regular(path, info.st_mode))
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    return fd


def regular_file(path: Path | str) -> bool:
    """Whether `path` is a regular file itself (not a link to one, not a FIFO or device)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def _not_regular(path: Path | str, mode: int) -> str:
    if stat.S_ISLNK(mode):
        return _a_link(path)
    kind = "a directory" if stat.S_ISDIR(mode) else "a device, FIFO or socket"
    return f"{path} is {kind}, not a regular file"


def check_regular(path: Path | str) -> None:
    """What reading `path` would refuse, found without opening it: UnsafeFileError for a link
    or a special file, FileNotFoundError for none (a list of 5,000 runs checks, never reads)."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        raise
    except OSError as error:
        raise UnsafeFileError(_describe(path, error)) from None
    if not stat.S_ISREG(mode):
        raise UnsafeFileError(_not_regular(path, mode))


def real_folder(path: Path | str) -> bool:
    """Whether `path` is a directory itself, not a link to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def read_bytes(path: Path, limit: int, follow_links: bool = False) -> bytes:
    """The whole file, if it is a regular file of at most `limit` bytes.

    Raises FileNotFoundError when there is none, UnsafeFileError for a link (unless
    `follow_links`: a file the user named, read and never written), special file or one over
    the limit.
    """
    with os.fdopen(_open(path, READ_THROUGH_LINKS if follow_links else READ), "rb") as source:
        data = source.read(limit + 1)
    if len(data) > limit:
        raise UnsafeFileError(f"{path} is larger than {_size(limit)}, more than it can hold")
    return data


def read_text(path: Path, limit: int) -> str:
    """`read_bytes` decoded as UTF-8; bytes that are not UTF-8 are an UnsafeFileError."""
    data = read_bytes(path, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UnsafeFileError(f"{path} is not UTF-8 text") from None


def read_tail(path: Path, limit: int) -> bytes:
    """The last `limit` bytes of a regular file (all of a shorter one)."""
    with os.fdopen(_open(path, READ), "rb") as source:
        size = source.seek(0, os.SEEK_END)
        source.seek(max(0, size - limit))
        return source.read(limit)


@contextmanager
def problems_as(kind: type[Exception], missing: str) -> Iterator[None]:
    """A missing or unsafe file as one error of the caller's kind, so a page shows one line:
    `missing` for no file, the reason for a link, a special file or one too large."""
    try:
        yield
    except FileNotFoundError:
        raise kind(missing) from None
    except UnsafeFileError as exc:
        raise kind(str(exc)) from None


@contextmanager
def open_for_reading(path: Path, follow_links: bool = False) -> Iterator[BinaryIO]:
    """A regular file opened for reading, for callers that read it in bounded pieces."""
    with os.fdopen(_open(path, READ_THROUGH_LINKS if follow_links else READ), "rb") as source:
        yield source


CREATE = os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
OPENINGS = {  # how a regular file is opened to write: flags, and os.fdopen's mode
    "append": (os.O_WRONLY | os.O_APPEND | CREATE, "ab"),  # metrics: one line per event
    "write": (os.O_WRONLY | CREATE, "wb"),  # a log a child process fills, emptied first
    "lock": (os.O_RDWR | CREATE, "r+b"),  # a lock file: flock, and its holder's pid
}


@contextmanager
def open_to_write(path: Path, how: str) -> Iterator[BinaryIO]:
    """A regular file opened (created if missing) as `how` says (one of OPENINGS), never
    through a link, never one that hard links share with another folder (a run copied with
    `cp -al` would append to, empty or lock the original's files)."""
    flags, mode = OPENINGS[how]
    fd = _open(path, flags)
    if (names := os.fstat(fd).st_nlink) > 1:
        os.close(fd)
        raise UnsafeFileError(
            f"{path} is a hard link: {names - 1} other name(s) share it (a copy made with "
            "cp -al?), and vaeapp does not write into a file another folder shares; copy the "
            "run without links (cp -a)"
        )
    # Appends go unbuffered, one write call each (`append_fully`): a write a full disk refused
    # leaves no bytes in a buffer for the close to fail on again.
    buffering = 0 if how == "append" else -1
    with os.fdopen(fd, mode, buffering=buffering) as handle:
        if how == "write":
            handle.truncate(0)
        yield handle


def append_fully(handle: BinaryIO, data: bytes) -> None:
    """All of `data` through a handle `open_to_write(..., "append")` gave; a disk filling up
    takes part of a write, then refuses the rest with OSError (ENOSPC, EDQUOT, EFBIG)."""
    view = memoryview(data)
    while view:
        view = view[handle.write(view) :]


def try_flock(handle: BinaryIO, attempts: int = 1) -> bool:
    """Try to take an exclusive flock a few times: a probe holds it only for microseconds."""
    for attempt in range(attempts):
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < attempts:
                time.sleep(0.025)
    return False


def is_locked(path: Path) -> bool:
    """Whether a process holds an flock on `path`; probes with a shared lock, released at once.
    A link or special file in its place is no lock anyone holds."""
    try:
        fd = _open(path, READ)
    except (FileNotFoundError, UnsafeFileError):
        return False
    with os.fdopen(fd, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a fsynced temp file and a rename; raise WriteError if it fails.

    The temp file's name carries the writer's pid, so a later write removes those of writers that
    died (kill -9, a power cut) and leaves a live writer's alone.
    """
    tmp = None
    try:
        _remove_orphaned_temp_files(path)
        name = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}{TEMP_SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(name, flags, 0o666)  # the umask decides, as for any file the user makes
        tmp = name
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.lexists(tmp):
            os.unlink(tmp)
        raise WriteError(
            f"could not write {path} ({exc.strerror or exc}); the previous version is intact"
        ) from None


def _remove_orphaned_temp_files(path: Path) -> None:
    prefix = f".{path.name}."
    for candidate in path.parent.glob(f"{glob.escape(prefix)}*{TEMP_SUFFIX}"):
        pid = candidate.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)) and regular_file(candidate):
            candidate.unlink(missing_ok=True)


def holds_open(pid: int, path: Path) -> bool:
    """Whether process `pid` has the file at `path` open (Linux's /proc/PID/fd; another user's
    processes cannot be looked at, and are not ours to signal either). A file with hard links
    proves nothing: the process may hold it through another folder's name for it."""
    try:
        target = os.lstat(path)
        entries = list(os.scandir(f"/proc/{pid}/fd"))
    except (OSError, ValueError):
        return False
    if target.st_nlink != 1:  # shared by hard links: a copy's process holds the same file
        return False
    for entry in entries:
        try:
            held = os.stat(entry.path)  # the descriptor's file, through /proc's link
        except OSError:
            continue
        if (held.st_dev, held.st_ino) == (target.st_dev, target.st_ino):
            return True
    return False


def process_alive(pid: int) -> bool:
    """Whether a process of that pid runs (a zombie, exited but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2]
    except OSError:
        return True
    return not state.startswith(" Z")


def _size(limit: int) -> str:
    return f"{limit / 2**20:.0f} MB" if limit >= 2**20 else f"{limit:,} bytes"
