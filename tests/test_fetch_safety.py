"""The data cache does not trust a registry file or an archive: file names are one plain component, every
registry field has its type checked before any download, an archive has a size budget and a compression-ratio
cap, symlink entries and path clashes are refused before anything is extracted, and no failure after the
download leaves a ``.part`` behind. Archives are built here and served from 127.0.0.1 (see test_fetch.py)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from _httpserver import LocalServer, Served

from harness.data import archive, fetch, mlfixture, sources
from harness.errors import HarnessError


def _ml100k_files(tmp: Path) -> dict[str, bytes]:
    folder = mlfixture.write_100k(tmp / "fx", layout="grouplens", fixture=mlfixture.generate(n_users=30))
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def ml_files(tmp_path_factory) -> dict[str, bytes]:
    return _ml100k_files(tmp_path_factory.mktemp("safety"))


def _zip(members: list[tuple[str, bytes]], links: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            z.writestr(info, target)
    return buf.getvalue()


def _dataset(ml_files: dict[str, bytes], extra: dict[str, bytes] | list[tuple[str, bytes]] | None = None,
             links: dict[str, str] | None = None) -> bytes:
    """The fixture's files under ``ml-100k/``, then ``extra`` members (a list may repeat a name)."""
    more = list(extra.items()) if isinstance(extra, dict) else list(extra or [])
    return _zip([(f"ml-100k/{k}", v) for k, v in ml_files.items()] + more, links)


def _registry(tmp_path: Path, data: bytes, **fields) -> Path:
    p = tmp_path / "registry.json"
    pins = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "md5": None}
    p.write_text(json.dumps({"ml-100k": {**pins, **fields}}))
    return p


def _cli(*args, cwd: Path, env: dict[str, str] | None = None):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "HARNESS_OFFLINE": "0", **(env or {})}, timeout=300)


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` -> its bytes (None for folders); {} when ``root`` does not exist."""
    return {str(p.relative_to(root)): (None if p.is_dir() else p.read_bytes()) for p in sorted(root.rglob("*"))}


def _one_line_exit_2(out, *expected: str) -> str:
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and not any(ln.startswith("error") for ln in lines[:-1]), out.stderr
    for text in expected:
        assert text in lines[-1], lines[-1]
    return lines[-1]


def _fetch_cli(tmp_path: Path, data: bytes, registry: Path, cache: Path, name: str = "ml-100k.zip"):
    served = Served(files={f"/{name}": data})
    with LocalServer(served) as url:
        out = _cli("data", "fetch", "ml-100k", "--cache-dir", str(cache), "--mirror", url, "--registry",
                   str(registry), "--quiet", cwd=tmp_path)
    return out, served


# --------------------------------------------------------------------------- registry: names and field types
def test_registry_filename_with_dotdot_is_refused_before_any_download(ml_files, tmp_path):
    """Before: the download went to <cache>/victim.part (resuming onto the file there), was refused and deleted."""
    data = _dataset(ml_files)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "victim.part").write_bytes(b"someone else's file")
    (tmp_path / "victim.part").write_bytes(b"another one")
    reg = _registry(tmp_path, data, filename="../../victim")
    before = _tree(tmp_path)
    out, served = _fetch_cli(tmp_path, data, reg, cache, name="../../victim")
    _one_line_exit_2(out, f"--registry {reg}: entry 'ml-100k' field 'filename' must be one plain file name "
                          "(no '/', '\\', ':', '..'; contains '/'), got '../../victim'")
    assert served.log == [] and _tree(tmp_path) == before


def test_confinement_is_checked_again_when_a_source_is_built_in_code(ml_files, tmp_path):
    data = _dataset(ml_files)
    src = sources.Source("ml-100k", "zip", "https://example.invalid/x.zip", "../escaped", len(data), None, "t", "t")
    (tmp_path / "cache").mkdir()
    with LocalServer(Served(files={"/../escaped": data})) as url:
        with pytest.raises(HarnessError, match=r"^registry field 'filename' of 'ml-100k': refusing to write .*"
                                               r"escaped\.part"):
            fetch.fetch("ml-100k", tmp_path / "cache", mirror=url, registry={"ml-100k": src}, quiet=True,
                        out=io.StringIO())
    assert _tree(tmp_path) == {"cache": None}


@pytest.mark.parametrize("field, value, problem", [
    ("size", "big", "must be a positive whole number of bytes or null"),
    ("size", True, "must be a positive whole number of bytes or null"),
    ("size", -1, "must be a positive whole number of bytes or null"),
    ("sha256", 12345, "must be 64 hex digits or null"),
    ("sha256", "abc", "must be 64 hex digits or null"),
    ("md5", ["x"], "must be 32 hex digits or null"),
    ("url", None, "must be a non-empty string"),
    ("filename", "/etc/passwd", "must be one plain file name"),
    ("filename", "..", "must be one plain file name"),
    ("filename", "a\\b.zip", "must be one plain file name"),
    ("filename", "a\0.zip", "must be one plain file name"),
    ("terms", 3, "must be a string"),
    ("pinned_from", {}, "must be a string"),
    ("expect", "u.data", "must be a list of relative file paths"),
    ("expect", ["../u.data"], "must be a list of relative file paths"),
    ("max_unpacked_bytes", "1G", "must be a positive whole number of bytes"),
    ("max_unpacked_bytes", None, "must be a positive whole number of bytes"),
    ("max_ratio", 0.5, "must be a number >= 1"),
    ("max_ratio", float("inf"), "must be a number >= 1"),
])
def test_registry_field_of_the_wrong_type_is_one_line_naming_file_entry_and_field(field, value, problem, tmp_path):
    p = tmp_path / "r.json"
    p.write_text(json.dumps({"ml-100k": {field: value}}))
    with pytest.raises(HarnessError) as exc:
        sources.load_registry(p)
    msg = str(exc.value)
    assert msg.startswith(f"--registry {p}: entry 'ml-100k' field {field!r} {problem}") and "\n" not in msg
    assert msg.endswith(f", got {json.loads(json.dumps(value))!r}")


def test_every_source_field_is_type_checked_and_good_values_pass(tmp_path):
    from dataclasses import fields

    assert set(sources._CHECKS) == {f.name for f in fields(sources.Source)} - {"name", "kind"}
    p = tmp_path / "r.json"
    good = {"url": "https://x/y.zip", "filename": "y.zip", "size": 10, "sha256": "a" * 64, "md5": None,
            "pinned_from": "p", "terms": "t", "expect": ["u.data", "sub/x.csv"], "max_unpacked_bytes": 5,
            "max_ratio": 20}
    p.write_text(json.dumps({"ml-100k": good}))
    src = sources.load_registry(p)["ml-100k"]
    assert (src.size, src.expect, src.max_unpacked_bytes, src.max_ratio) == (10, ("u.data", "sub/x.csv"), 5, 20)


def test_wrong_registry_types_through_the_cli_download_nothing_and_leave_no_part(ml_files, tmp_path):
    """Before: "size": "big" was a TypeError traceback; "sha256": 12345 an AttributeError after the download,
    leaving the unverified .part in the cache."""
    data = _dataset(ml_files)
    for field, value in (("size", "big"), ("sha256", 12345)):
        reg = _registry(tmp_path, data, **{field: value})
        cache = tmp_path / f"cache-{field}"
        out, served = _fetch_cli(tmp_path, data, reg, cache)
        _one_line_exit_2(out, f"--registry {reg}: entry 'ml-100k' field {field!r}")
        assert served.log == [] and not cache.exists()


def test_a_vk_lsvd_subsample_is_one_folder_name(tmp_path):
    with pytest.raises(HarnessError, match=r"^dataset 'vk-lsvd:\.\./\.\./x': the subsample '\.\./\.\./x' must be one "
                                           r"folder name .*, e.g\. vk-lsvd:up0\.001_ip0\.001$"):
        fetch.fetch("vk-lsvd:../../x", tmp_path, out=io.StringIO())
    assert sources.get("vk-lsvd:up0.001_ip0.001").name == "vk-lsvd"
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- archives: budget, ratio, links, clashes
ZEROS = b"\0" * (4 << 20)  # 4 MiB of zeros: deflates ~1000:1


@pytest.mark.parametrize("case", ["budget", "ratio", "symlink", "file-folder clash", "duplicate", "case clash"])
def test_an_unsafe_archive_is_refused_in_one_line_before_anything_is_extracted(case, ml_files, tmp_path):
    extra, links, fields, expected = {}, None, {}, []
    if case == "budget":  # a small budget set through the override the message names
        extra, fields = {"ml-100k/big.bin": ZEROS}, {"max_unpacked_bytes": 1 << 20}
        expected = ["ml-100k: the archive declares 4.", "MiB unpacked, over the budget of 1.0 MiB (registry field "
                    "max_unpacked_bytes); if the archive is trusted, raise it with a registry file (--registry FILE "
                    'or HARNESS_DATA_REGISTRY) holding {"ml-100k": {"max_unpacked_bytes": ', "nothing was cached"]
    elif case == "ratio":  # the default budget of ml-100k (64 MiB) holds it; the ratio cap does not
        extra = {"ml-100k/big.bin": ZEROS}
        expected = ["ml-100k: archive member 'ml-100k/big.bin' expands ", ":1 (4.0 MiB from ",
                    "over the limit of 100:1 (registry field max_ratio); ", '{"ml-100k": {"max_ratio": ']
    elif case == "symlink":
        links = {"ml-100k/u.genre": "/etc/passwd"}
        expected = ["ml-100k: archive member 'ml-100k/u.genre' is a symbolic link; refusing to unpack, nothing was "
                    "cached"]
    elif case == "file-folder clash":
        extra = {"ml-100k/a": b"file", "ml-100k/a/b": b"file in a folder of the same name"}
        expected = ["ml-100k: archive members 'a' and 'a/b' would land on the same path"]
    elif case == "duplicate":
        extra = [("ml-100k/u.item", b"second copy")]
        expected = ["ml-100k: archive members 'u.item' and 'u.item' would land on the same path"]
    else:
        extra = {"ml-100k/U.DATA": b"x"}
        expected = ["ml-100k: archive members 'u.data' and 'U.DATA' would land on the same path"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name it is asked to write
        data = _dataset(ml_files, extra, links=links)
    cache = tmp_path / "cache"
    out, served = _fetch_cli(tmp_path, data, _registry(tmp_path, data, **fields), cache)
    _one_line_exit_2(out, *expected)
    assert len(served.log) == 1
    assert _tree(cache) == {}  # no partial folder, no .part, no marker: nothing at all


@pytest.mark.parametrize("budget", [None, 1 << 20])
def test_the_override_the_message_suggests_lets_a_trusted_archive_through(budget, ml_files, tmp_path):
    """The registry entry the one-line error suggests, added to the registry file, makes the fetch succeed."""
    import re

    data = _dataset(ml_files, {"ml-100k/big.bin": ZEROS})
    cache = tmp_path / "cache"
    fields = {} if budget is None else {"max_unpacked_bytes": budget, "max_ratio": 5000}
    reg = _registry(tmp_path, data, **fields)
    out, _ = _fetch_cli(tmp_path, data, reg, cache)
    line = _one_line_exit_2(out, "max_ratio" if budget is None else "max_unpacked_bytes")
    suggested = json.loads(re.search(r"holding (\{.*\}); nothing was cached$", line).group(1))
    doc = json.loads(reg.read_text())
    doc["ml-100k"].update(suggested["ml-100k"])
    reg.write_text(json.dumps(doc))
    out, _ = _fetch_cli(tmp_path, data, reg, cache)
    assert out.returncode == 0, out.stderr
    assert (cache / "data" / "ml-100k" / "big.bin").stat().st_size == len(ZEROS)


def test_a_header_that_lies_about_the_size_is_caught_while_extracting(ml_files, tmp_path):
    """The central directory and local header say u.data is 1000 bytes; it holds more. Reading stops at the
    declared size, so the CRC fails: one line, nothing cached."""
    data = bytearray(_dataset(ml_files))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo("ml-100k/u.data")
    assert info.file_size > 1000
    real = info.file_size.to_bytes(4, "little")
    local = info.header_offset
    assert data[local + 22:local + 26] == real
    data[local + 22:local + 26] = (1000).to_bytes(4, "little")
    pos = data.find(b"PK\x01\x02")
    while pos != -1:  # the central record of u.data
        name_len = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + name_len] == b"ml-100k/u.data":
            data[pos + 24:pos + 28] = (1000).to_bytes(4, "little")
            break
        pos = data.find(b"PK\x01\x02", pos + 4)
    assert pos != -1
    data = bytes(data)
    cache = tmp_path / "cache"
    out, _ = _fetch_cli(tmp_path, data, _registry(tmp_path, data), cache)
    _one_line_exit_2(out, "ml-100k: the download is a damaged zip", "nothing was cached")
    assert _tree(cache) == {}


def test_byte_counting_stops_a_member_that_yields_more_than_declared(ml_files, tmp_path, monkeypatch):
    """If a zip reader ever returned more than the header declares, the count stops it (zipfile itself
    stops at the declared size; this fakes a reader that does not)."""
    path = tmp_path / "a.zip"
    path.write_bytes(_zip([("top/u.data", b"12345")]))
    limits = archive.Limits("ml-100k", 1 << 20, 100.0)
    members = archive.plan(path, limits, "ml-100k")
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *a, **k: io.BytesIO(b"x" * 100))
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(HarnessError, match=r"^ml-100k: archive member 'top/u\.data' unpacks to more than the 5 "
                                           r"bytes its header declares"):
        archive.unpack(path, dest, members, limits, "ml-100k")
    small = archive.Limits("ml-100k", 50, 100.0)
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, info, *a, **k: io.BytesIO(b"x" * 5))
    many = [(members[0][0], members[0][1].with_name(f"u{i}.data")) for i in range(20)]
    with pytest.raises(HarnessError, match=r"the archive unpacks to more than its budget of 50 B \(registry field "
                                           r"max_unpacked_bytes\)"):
        archive.unpack(path, dest, many, small, "ml-100k")


def test_no_part_is_left_when_something_unexpected_fails_after_the_download(ml_files, tmp_path, monkeypatch):
    data = _dataset(ml_files)
    reg = sources.load_registry(_registry(tmp_path, data))

    def boom(*a, **k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(archive, "plan", boom)
    cache = tmp_path / "cache"
    with LocalServer(Served(files={"/ml-100k.zip": data})) as url:
        with pytest.raises(RuntimeError, match="a bug"):
            fetch.fetch("ml-100k", cache, mirror=url, registry=reg, quiet=True, out=io.StringIO())
    assert _tree(cache) == {}


def test_an_archive_that_is_not_a_zip_is_one_line(tmp_path):
    data = b"<html>not a zip</html>"
    cache = tmp_path / "cache"
    out, _ = _fetch_cli(tmp_path, data, _registry(tmp_path, data), cache)
    _one_line_exit_2(out, "ml-100k: the download is not a zip archive", "nothing was cached")
    assert _tree(cache) == {}
