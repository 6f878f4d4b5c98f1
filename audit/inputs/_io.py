"""Writing files so that a reader never sees half of one, and report sets so that a reader never sees two runs.

A report folder's files (``findings.json``, ``model_card.html``, ``junit.xml``, ...) are links into one run's
folder, through one more link::

    reports/<name>/findings.json -> .current/findings.json
    reports/<name>/.current      -> .runs/<pid>-<random>      (the run whose files are shown)
    reports/<name>/.runs/<pid>-<random>/findings.json, model_card.html, ...

A run is written whole into its own folder under ``.runs``, then made current by renaming one new link over
``.current``: at every moment a reader sees every file of the earlier run or every file of the new one
(a format the shown run did not write is absent). Temporary names carry the writer's process id, so the
next writer removes what a killed one left behind (and never what a live one is writing).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterable

from .._errors import AuditError

__all__ = ["atomic_write_bytes", "atomic_write_text", "check_writable_folder", "ReportSet", "remove_leftovers",
           "RUNS", "CURRENT"]

#: The folder of a report folder that holds each run's files, and the link naming the one shown.
RUNS = ".runs"
CURRENT = ".current"
#: Leftovers without a process id in their name (from older versions) are removed once this old, in seconds.
_LEGACY_AGE = 3600.0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place.

    A crash leaves either the old file or the new one, never a partial file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a report should be as readable as any file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def check_writable_folder(path: str | Path, *, what: str = "--out") -> Path:
    """Check, before any work, that ``path`` is a folder this process can write into, or can be created.

    Raises AuditError naming ``what`` and the path: a file where the folder should be, a folder (or the
    nearest existing parent of a folder to create) without write permission.
    """
    path = Path(path)
    probe = path
    while not probe.exists() and not probe.is_symlink():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        where = "" if probe == path else f" (its parent {probe} is a file)"
        raise AuditError(f"`{what}` {path} must be a folder to write the reports into; it is a file{where}. "
                         "Pass a folder, or remove the file.")
    if not os.access(probe, os.W_OK | os.X_OK):
        where = "" if probe == path else f" (it would be created in {probe}, which is not writable)"
        raise AuditError(f"`{what}` {path} is not writable{where}; pass a folder you can write to, or change its "
                         "permissions.")
    return path


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's live process, or a platform without signal 0: leave its files alone
    return True


# Temporary names and the process id each carries: `.findings.json.<pid>.<random>.tmp` (atomic writes),
# `.current.<pid>.tmp` (the link being made current), `.incoming-<pid>-<random>` (a history run being copied),
# `<pid>-<random>` (a run's folder under .runs).
_TMP_FILE = re.compile(r"^\..+\.(\d+)\.(?:[A-Za-z0-9_]+\.)?tmp$")
_INCOMING = re.compile(r"^\.incoming-(?:(\d+)-)?")
_RUN_DIR = re.compile(r"^(\d+)-")


def _stale(path: Path, pid: str | None) -> bool:
    if pid is not None:
        return not _alive(int(pid))
    try:
        return time.time() - path.lstat().st_mtime > _LEGACY_AGE
    except OSError:
        return False


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink()
    except OSError:
        pass


def _current_run(folder: Path) -> str | None:
    try:
        return Path(os.readlink(folder / CURRENT)).name
    except OSError:
        return None


def remove_leftovers(folder: str | Path) -> list[Path]:
    """Remove what killed writers left in a report folder: temporary files and links, half-copied history runs
    (``history/.incoming-*``) and run folders under ``.runs`` that are not shown. Returns what was removed.

    Only leftovers of processes that are no longer running are removed (legacy names without a process id
    once an hour old), so a writer running beside this one is never disturbed.
    """
    folder = Path(folder)
    removed: list[Path] = []
    if not folder.is_dir():
        return removed
    for place in (folder, folder / "history"):
        if not place.is_dir():
            continue
        for path in place.iterdir():
            name = path.name
            tmp, incoming = _TMP_FILE.match(name), _INCOMING.match(name)
            if not name.startswith(".") or not (tmp or incoming or name.endswith(".tmp")):
                continue
            pid = tmp.group(1) if tmp else (incoming.group(1) if incoming else None)
            if _stale(path, pid):
                _remove(path)
                removed.append(path)
    runs = folder / RUNS
    if runs.is_dir():
        shown = _current_run(folder)
        for path in runs.iterdir():
            if path.name == shown:
                continue
            match = _RUN_DIR.match(path.name)
            if _stale(path, match.group(1) if match else None):
                _remove(path)
                removed.append(path)
    return removed


def _link(target: str, path: Path) -> None:
    """Make ``path`` a symbolic link to ``target``, replacing what is there in one rename."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    try:
        os.replace(tmp, path)
    except BaseException:
        if tmp.is_symlink():
            tmp.unlink()
        raise


def _symlinks_work(folder: Path) -> bool:
    probe = folder / f".symlink-probe.{os.getpid()}.tmp"
    try:
        os.symlink("probe", probe)
    except (OSError, NotImplementedError, AttributeError):
        return False
    probe.unlink()
    return True


class ReportSet:
    """One run's report files, written whole under ``folder/.runs/`` and shown together by :meth:`publish`.

    Where the file system has no symbolic links, files are renamed into ``folder`` one by one instead (each
    file whole, the set not).

    Examples
    --------
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "demo"
    >>> run = ReportSet(folder)
    >>> _ = run.write("findings.json", b"{}"); _ = run.write("junit.xml", b"<testsuites/>")
    >>> sorted(p.name for p in run.publish().values())
    ['findings.json', 'junit.xml']
    >>> (folder / "junit.xml").read_bytes()
    b'<testsuites/>'
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        remove_leftovers(self.folder)
        self.linked = _symlinks_work(self.folder)
        self._names: list[str] = []
        if self.linked:
            runs = self.folder / RUNS
            runs.mkdir(exist_ok=True)
            self.staging = Path(tempfile.mkdtemp(dir=runs, prefix=f"{os.getpid()}-"))
            os.chmod(self.staging, 0o777 & ~_umask())
        else:
            self.staging = self.folder

    def path(self, name: str) -> Path:
        """Where the file ``name`` of this run is written before it is shown."""
        return self.staging / name

    def write(self, name: str, data: bytes) -> Path:
        """Write one file of the run (not shown until :meth:`publish`)."""
        self.add(name)
        return atomic_write_bytes(self.staging / name, data)

    def add(self, name: str) -> None:
        """Count a file written at :meth:`path` by someone else (the printed card) as part of the run."""
        if name not in self._names:
            self._names.append(name)

    def discard(self) -> None:
        """Remove the unpublished run (after a failure): the shown run stays as it was."""
        if self.linked:
            shutil.rmtree(self.staging, ignore_errors=True)

    def publish(self, *, adopt: Iterable[str] = ()) -> dict[str, Path]:
        """Show this run's files together; returns the shown path of each file, by name.

        ``adopt``: names of report files that a folder written by an older version holds as plain files; they
        are moved into a run of their own first (other files of the folder are never touched).
        """
        folder = self.folder
        if not self.linked:
            return {name: folder / name for name in self._names}
        current = folder / CURRENT
        self._adopt_plain_files(set(adopt) | set(self._names))
        earlier = _current_run(folder)
        # Links of this run's names first: until `.current` moves, a new name points at nothing.
        for name in self._names:
            path = folder / name
            if not (path.is_symlink() and os.readlink(path) == f"{CURRENT}/{name}"):
                _link(f"{CURRENT}/{name}", path)
        before = set(os.listdir(folder / RUNS / earlier)) if earlier and (folder / RUNS / earlier).is_dir() else set()
        _link(f"{RUNS}/{self.staging.name}", current)  # the one rename that shows the whole run
        # Names the earlier run had and this one has not now point at nothing: remove them, then that run.
        for name in sorted(before - set(self._names)):
            path = folder / name
            if path.is_symlink() and os.readlink(path) == f"{CURRENT}/{name}" and not path.exists():
                _remove(path)
        if earlier is not None and earlier != self.staging.name:
            _remove(folder / RUNS / earlier)
        return {name: folder / name for name in self._names}

    def _adopt_plain_files(self, names: set[str]) -> None:
        """A folder written by an older version holds plain report files: move them into a run of their own,
        shown through links, file by file (each link shows the same bytes as the file it replaces)."""
        folder = self.folder
        if (folder / CURRENT).is_symlink():
            return
        plain = [p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
                 and p.name in names]
        if not plain:
            return
        legacy = Path(tempfile.mkdtemp(dir=folder / RUNS, prefix=f"{os.getpid()}-"))
        os.chmod(legacy, 0o777 & ~_umask())
        for path in plain:
            shutil.copy2(path, legacy / path.name)
        _link(f"{RUNS}/{legacy.name}", folder / CURRENT)
        for path in plain:
            _link(f"{CURRENT}/{path.name}", path)

