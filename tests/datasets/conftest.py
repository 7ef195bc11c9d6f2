"""Fixtures for tests/datasets: shared real data, an isolated cache, a local HTTP server."""
import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared_files import SHARED_DATA, need_fashion_mnist  # ../shared/data, or GRADKIT_DATA


@pytest.fixture(autouse=True)
def data_env(tmp_path, monkeypatch):
    """GRADKIT_DATA -> the shared data; the user cache -> an empty temporary folder."""
    monkeypatch.setenv("GRADKIT_DATA", str(SHARED_DATA))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return SHARED_DATA


@pytest.fixture
def cache(tmp_path):
    return tmp_path / "cache" / "gradkit"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path, monkeypatch):
    """(folder, base_url): files written to folder are served at base_url on 127.0.0.1."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    www = tmp_path / "www"
    www.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(www)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield www, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="session")
def fashion_test():
    from gradkit.datasets import fashion_mnist

    need_fashion_mnist()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADKIT_DATA", str(SHARED_DATA))
        mp.setenv("XDG_CACHE_HOME", "/nonexistent-gradkit-test-cache")
        return fashion_mnist("test")


@pytest.fixture(scope="session")
def fashion_train_arrays():
    from gradkit.datasets import fashion_mnist

    need_fashion_mnist()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADKIT_DATA", str(SHARED_DATA))
        mp.setenv("XDG_CACHE_HOME", "/nonexistent-gradkit-test-cache")
        return fashion_mnist("train")
