"""Finding, fetching and verifying data files.

Search order for a dataset's files (each loader names its folder, e.g. ``mnist``):

1. ``root=`` given to the loader: ``root/<folder>/`` and ``root/`` itself;
2. ``$GRADKIT_DATA/<folder>/`` (several directories may be joined with ``os.pathsep``);
3. the user cache ``~/.cache/gradkit/<folder>/`` (``$XDG_CACHE_HOME/gradkit`` when that is set);
4. system folders a loader knows, e.g. ``/usr/share/datasets/fashion-mnist`` from Debian.

If nothing is found and ``download=True``, the file is fetched from the official mirrors into
the cache: streamed to a temporary file in the same folder, MD5-checked, then renamed into place
with ``os.replace`` (atomic), so an interrupted or corrupt download never looks like a finished
file. Files are verified again when loaded; a mismatch is an error naming the file and the fix,
never a silent load.
"""
import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

__all__ = [
    "DatasetNotFoundError", "CorruptFileError", "cache_dir", "search_dirs", "find_file",
    "md5_hex", "check_md5", "download", "find_or_download",
]

ENV_VAR = "GRADKIT_DATA"


class DatasetNotFoundError(FileNotFoundError):
    """A data file is in none of the searched folders and ``download`` was not allowed."""


class CorruptFileError(ValueError):
    """A data file exists but fails its checks (checksum, size, format)."""


def cache_dir():
    """``$XDG_CACHE_HOME/gradkit`` if set, else ``~/.cache/gradkit`` (created on first download)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gradkit"


def search_dirs(folder, root=None, system_dirs=()):
    """The folders searched for ``folder``'s files, in order (see the module docstring)."""
    dirs = []
    if root is not None:
        dirs += [Path(root) / folder, Path(root)]
    for entry in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if entry:
            dirs.append(Path(entry) / folder)
    dirs.append(cache_dir() / folder)
    dirs += [Path(d) for d in system_dirs]
    return dirs


def find_file(names, dirs):
    """The first existing ``dir/name`` over ``dirs`` (outer) and ``names`` (inner), or ``None``."""
    for d in dirs:
        for name in names:
            p = d / name
            if p.is_file():
                return p
    return None


def md5_hex(data_or_path):
    """MD5 hex digest of ``bytes`` or of a file (read in 1 MiB chunks)."""
    h = hashlib.md5(usedforsecurity=False)
    if isinstance(data_or_path, (bytes, bytearray, memoryview)):
        h.update(data_or_path)
        return h.hexdigest()
    with open(data_or_path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def redownload_hint(path):
    return (f"delete {path} and load again with download=True (it is fetched into {cache_dir()}), "
            f"or copy a good file there")


def check_md5(path, expected, data=None, what="file"):
    """Raise ``CorruptFileError`` unless the MD5 of ``data`` (or of the file) is ``expected``."""
    got = md5_hex(path if data is None else data)
    if got != expected:
        raise CorruptFileError(
            f"{path}: checksum mismatch: the {what} has MD5 {got}, expected {expected}. The file is "
            f"corrupt, truncated or a different version; {redownload_hint(path)}"
        )


# === download ====================================================================================

class _Progress:
    """tqdm when it is installed, else one self-overwriting line on stderr."""

    def __init__(self, total, desc, enabled):
        self.total, self.desc, self.done, self._last = total, desc, 0, 0.0
        self._bar = None
        self.enabled = enabled
        if enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024)

    def update(self, n):
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.enabled and time.monotonic() - self._last > 0.2:
            self._last = time.monotonic()
            self._line()

    def _line(self):
        mb = self.done / 1e6
        if self.total:
            sys.stderr.write(f"\r{self.desc}: {mb:.1f} / {self.total / 1e6:.1f} MB ({100 * self.done / self.total:.0f}%)")
        else:
            sys.stderr.write(f"\r{self.desc}: {mb:.1f} MB")
        sys.stderr.flush()

    def close(self):
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            self._line()
            sys.stderr.write("\n")
            sys.stderr.flush()


def _fetch(url, dest, md5, progress, timeout):
    request = urllib.request.Request(url, headers={"User-Agent": "gradkit"})
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        h = hashlib.md5(usedforsecurity=False)
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as response:
            length = response.headers.get("Content-Length")
            bar = _Progress(int(length) if length else None, f"downloading {dest.name}", progress)
            try:
                for chunk in iter(lambda: response.read(1 << 20), b""):
                    out.write(chunk)
                    h.update(chunk)
                    bar.update(len(chunk))
            finally:
                bar.close()
            if length and bar.done != int(length):
                raise CorruptFileError(f"{url}: the transfer stopped after {bar.done} of {length} bytes")
        if md5 is not None and h.hexdigest() != md5:
            raise CorruptFileError(f"{url}: downloaded file has MD5 {h.hexdigest()}, expected {md5}")
        os.replace(tmp, dest)
        tmp = None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def download(urls, dest, md5=None, progress=True, timeout=60):
    """Fetch the first of ``urls`` (a URL or a list of mirrors) that works into ``dest``.

    The body is streamed into a temporary file next to ``dest``, checked against ``md5`` (when
    given) and moved into place with ``os.replace``; on any failure no file is left at ``dest``.
    Raises ``OSError`` listing every mirror's error when none works.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    urls = [urls] if isinstance(urls, str) else list(urls)
    errors = []
    for url in urls:
        try:
            _fetch(url, dest, md5, progress, timeout)
            return dest
        except (OSError, ValueError, http.client.HTTPException) as e:  # URLError is an OSError, CorruptFileError a ValueError
            errors.append(f"  {url}: {e}")
    raise OSError(
        f"download of {dest.name} failed from every mirror:\n" + "\n".join(errors)
        + f"\nCheck the network (or a proxy), or put the file at {dest} by hand"
    )


def find_or_download(where, folder, names, root=None, download_ok=False, urls=(), md5=None,
                     system_dirs=(), size_hint=""):
    """Path of the first of ``names`` found in the search folders, else downloaded (``names[0]``).

    ``where`` names the caller in messages, e.g. ``"mnist(split='train')"``.
    """
    dirs = search_dirs(folder, root, system_dirs)
    path = find_file(names, dirs)
    if path is not None:
        return path
    if not download_ok:
        env = os.environ.get(ENV_VAR)
        searched = "\n".join(f"  {d}" for d in dirs)
        fixes = [f"pass download=True to fetch it{size_hint} from {urls[0]} into {cache_dir() / folder}"] if urls else []
        fixes += ["copy the file into one of those folders",
                  f"set {ENV_VAR} to a folder holding {folder}/{names[0]}" + ("" if env is None else f" (now {ENV_VAR}={env})")]
        also = f" (or {', '.join(names[1:])})" if len(names) > 1 else ""
        raise DatasetNotFoundError(
            f"{where}: file {names[0]}{also} not found. Searched:\n{searched}\nFix: " + ", or ".join(fixes)
        )
    return download(urls, cache_dir() / folder / names[0], md5=md5)
