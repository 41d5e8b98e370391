"""Writing files that nobody can redirect: no symlink followed, no temp file that can be pre-planted.

Run directories travel (CI artifacts, tarballs from a colleague, a shared scratch folder), so a
file in one can be a symlink planted by someone else: ``RUN/verdicts.json -> ~/.bashrc`` or
``RUN/kernels -> ~/.ssh``. A plain ``open(path, "w")`` follows it and overwrites the target;
a fixed temp name (``verdicts.json.tmp``) can be planted as a symlink too. So every writer in
rootspan goes through this module:

- whole files (``write_atomic``): a temp file made with ``O_CREAT|O_EXCL|O_NOFOLLOW`` under a
  random name in the target's own folder, then ``os.replace`` onto the final name. ``rename``
  replaces a symlink at the final name itself, never its target, and a planted temp name makes
  ``O_EXCL`` fail (a new random name is drawn) instead of being followed.
- JSON Lines appends (``append_bytes``): ``O_APPEND|O_NOFOLLOW``, refused when the file is a
  symlink, not a regular file (a FIFO would block the app) or has other hard links.
- folders below a ``root`` the user named (``kernels/``, ``OUT/<subset>/<id>``): walked one
  component at a time with ``O_DIRECTORY|O_NOFOLLOW`` relative to the parent's descriptor, so a
  symlinked folder inside the run directory is refused, not entered, and it cannot be swapped
  between a check and the write. The root itself is the user's choice and may be a symlink.

Written by hand because neither ``tempfile`` nor ``pathlib`` does this: ``tempfile.mkstemp``
has the right ``O_EXCL|O_NOFOLLOW`` flags but takes no directory descriptor and always
creates mode 0600, which would make reports and run files unreadable to the CI user or
group that collects them; here the mode is 0666 minus the umask, as ``open(path, "w")`` gives.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from rootspan.errors import UserError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a planted FIFO for writing fails at once (ENXIO) instead of hanging the app.
_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK


class UnsafePathError(UserError, OSError):
    """A write refused because the path is (or goes through) a symlink or a non-regular file.

    An OSError too, so writers that already survive a full disk (the tracer's exporter, the
    sampler) survive this the same way; a UserError, so the CLI prints it as one line.
    """

    def __init__(self, message: str) -> None:
        UserError.__init__(self, message)


def _open_dir(root: Path, parts: tuple[str, ...], create: bool) -> int:
    """A descriptor for ``root/parts...``; each part must be a real folder (created if missing)."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    where = root
    try:
        for part in parts:
            where = where / part
            if part in ("", ".", ".."):
                raise UnsafePathError(f"{where}: refusing to write through '{part}'")
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass  # made by a concurrent writer; opened (and checked) below
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    kind = "a symbolic link" if os.path.islink(where) else "not a folder"
                    raise UnsafePathError(f"{where}: {kind}; refusing to write into it") from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _split(path: Path, root: Path | None) -> tuple[Path, tuple[str, ...], str]:
    """(root, folders between root and the file, file name); root defaults to the file's folder."""
    path = Path(path)
    parent = path.parent
    if root is None:
        return parent, (), path.name
    root = Path(root)
    try:
        relative = parent.relative_to(root)
    except ValueError:
        raise ValueError(f"{path} is not inside {root}") from None
    return root, tuple(part for part in relative.parts if part != "."), path.name


def ensure_dir(path: Path, root: Path) -> Path:
    """Create ``path`` (a folder at or below ``root``) without following symlinks below ``root``."""
    path, root = Path(path), Path(root)
    root.mkdir(parents=True, exist_ok=True)
    relative = path.relative_to(root)
    os.close(_open_dir(root, tuple(part for part in relative.parts if part != "."), create=True))
    return path


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *, root: str | os.PathLike[str] | None = None) -> Path:
    """Replace ``path`` whole with ``data``: a reader sees the old file or the new, never half.

    ``root`` is the folder the user named (a run directory, ``import -o OUT``): folders between
    it and the file are created as needed and must not be symlinks. Without it only the file's
    own folder is used (``report -o FILE``), which must exist. A symlink at ``path`` is replaced
    by the new file; its target is never touched.
    """
    target = Path(path)
    base, parts, name = _split(target, Path(root) if root is not None else None)
    if root is not None:
        base.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    dir_fd = _open_dir(base, parts, create=root is not None)
    try:
        for _ in range(100):
            temp = f".{name[:80]}.{os.urandom(8).hex()}.tmp"
            try:
                fd = os.open(temp, _TEMP_FLAGS, 0o666, dir_fd=dir_fd)
                break
            except FileExistsError:
                continue  # planted, or a concurrent writer's: draw another name
        else:
            raise UnsafePathError(f"{target.parent}: cannot create a temporary file (every name taken)")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
            os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(temp, dir_fd=dir_fd)  # a full disk must not leave half a file behind
            except OSError:
                pass
            raise
    finally:
        os.close(dir_fd)
    return target


def append_bytes(path: str | os.PathLike[str], data: bytes, *, root: str | os.PathLike[str] | None = None) -> Path:
    """Append ``data`` in one write (whole lines for live readers), refusing symlinks and non-files."""
    target = Path(path)
    base, parts, name = _split(target, Path(root) if root is not None else None)
    base.mkdir(parents=True, exist_ok=True)
    dir_fd = _open_dir(base, parts, create=True)
    try:
        try:
            fd = os.open(name, _APPEND_FLAGS, 0o666, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise UnsafePathError(f"{target}: a symbolic link; refusing to write through it") from None
            if exc.errno == errno.ENXIO:
                raise UnsafePathError(f"{target}: not a regular file; refusing to write to it") from None
            raise
    finally:
        os.close(dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafePathError(f"{target}: not a regular file; refusing to write to it")
        if info.st_nlink > 1:
            raise UnsafePathError(f"{target}: has {info.st_nlink - 1} other hard link(s); refusing to write to it")
        os.set_blocking(fd, True)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)
    return target


def is_inside(path: Path, root: Path) -> bool:
    """Whether ``path``, with every symlink resolved, lies in ``root`` (resolved too)."""
    try:
        Path(path).resolve().relative_to(Path(root).resolve())
    except (ValueError, OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return False
    return True
