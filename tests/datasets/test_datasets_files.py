"""_files.py: search order, missing-file errors, downloads (local HTTP server only)."""
import hashlib
import sys

import pytest

from gradkit.datasets import DatasetNotFoundError, download
from gradkit.datasets._files import CorruptFileError, check_md5, find_or_download, search_dirs


def _md5(b):
    return hashlib.md5(b).hexdigest()


def test_search_order_root_env_cache_system(tmp_path, monkeypatch, cache):
    env = tmp_path / "env"
    monkeypatch.setenv("GRADKIT_DATA", str(env))
    dirs = search_dirs("mnist", root=tmp_path / "root", system_dirs=["/usr/share/x"])
    assert [str(d) for d in dirs] == [str(tmp_path / "root" / "mnist"), str(tmp_path / "root"),
                                      str(env / "mnist"), str(cache / "mnist"), "/usr/share/x"]
    for d, content in [(env / "set", b"env"), (cache / "set", b"cache"), (tmp_path / "root" / "set", b"root")]:
        d.mkdir(parents=True)
        (d / "f.txt").write_bytes(content)
    assert find_or_download("t", "set", ["f.txt"], root=tmp_path / "root").read_bytes() == b"root"
    assert find_or_download("t", "set", ["f.txt"]).read_bytes() == b"env"
    monkeypatch.delenv("GRADKIT_DATA")
    assert find_or_download("t", "set", ["f.txt"]).read_bytes() == b"cache"


def test_missing_file_without_download_names_file_dirs_and_fix(tmp_path, cache):
    with pytest.raises(DatasetNotFoundError, match=r"loader\(\): file data.bin \(or data.raw\) not found") as info:
        find_or_download("loader()", "things", ["data.bin", "data.raw"], urls=["http://127.0.0.1:9/data.bin"])
    message = str(info.value)
    assert str(cache / "things") in message and "download=True" in message and "GRADKIT_DATA" in message
    assert isinstance(info.value, FileNotFoundError)


def test_download_verifies_md5_and_renames_atomically(http_server, tmp_path):
    www, url = http_server
    payload = bytes(range(256)) * 5000
    (www / "blob.bin").write_bytes(payload)
    dest = tmp_path / "out" / "blob.bin"
    assert download(url + "blob.bin", dest, md5=_md5(payload), progress=False) == dest
    assert dest.read_bytes() == payload
    assert [p.name for p in dest.parent.iterdir()] == ["blob.bin"]  # no temporary file left

    bad = tmp_path / "out2" / "blob.bin"
    with pytest.raises(OSError, match=r"downloaded file has MD5 [0-9a-f]{32}, expected 0{32}"):
        download(url + "blob.bin", bad, md5="0" * 32, progress=False)
    assert not bad.exists() and list(bad.parent.iterdir()) == []


def test_download_falls_back_to_the_next_mirror(http_server, tmp_path):
    www, url = http_server
    (www / "good").mkdir()
    (www / "good" / "f.txt").write_bytes(b"payload")
    dest = download([url + "missing/f.txt", url + "good/f.txt"], tmp_path / "f.txt", md5=_md5(b"payload"), progress=False)
    assert dest.read_bytes() == b"payload"
    with pytest.raises(OSError, match=r"failed from every mirror:\n.*404"):
        download([url + "nope/f.txt"], tmp_path / "g.txt", progress=False)


def test_download_from_file_url(tmp_path):
    src = tmp_path / "src.txt"
    src.write_bytes(b"local")
    assert download(src.as_uri(), tmp_path / "copy" / "src.txt", md5=_md5(b"local"), progress=False).read_bytes() == b"local"


def test_progress_line_without_tqdm(http_server, tmp_path, monkeypatch, capsys):
    www, url = http_server
    (www / "p.bin").write_bytes(b"x" * 300_000)
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm -> ImportError
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    download(url + "p.bin", tmp_path / "p.bin", progress=True)
    err = capsys.readouterr().err
    assert "downloading p.bin: 0.3 / 0.3 MB (100%)" in err and err.endswith("\n")


def test_check_md5_message(tmp_path):
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    check_md5(p, _md5(b"abc"))
    with pytest.raises(CorruptFileError, match=rf"{p}: checksum mismatch: .*delete {p} and load again with download=True"):
        check_md5(p, "1" * 32)
