"""Fetching public datasets by name, against a local HTTP server on 127.0.0.1 serving fixture archives.

Never the internet: the session runs with HARNESS_OFFLINE=1 (conftest); these tests switch it off only
with a mirror on 127.0.0.1, and pin the fixture archives' own size and SHA-256 via a registry file.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from _httpserver import LocalServer, Served

from harness.data import cachedir, fetch, load_dataset, mlfixture, sources
from harness.errors import HarnessError


def _zip(folder: Path, top: str, extra: dict[str, bytes] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.iterdir()):
            z.write(p, f"{top}/{p.name}")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict[str, bytes]:
    """GroupLens-layout fixture archives: ml-100k.zip (u.data, u.item, u.user) and ml-1m.zip (*.dat)."""
    tmp = tmp_path_factory.mktemp("archives")
    fx = mlfixture.generate(n_users=60)
    return {"ml-100k.zip": _zip(mlfixture.write_100k(tmp / "a", layout="grouplens", fixture=fx), "ml-100k"),
            "ml-1m.zip": _zip(mlfixture.write_1m(tmp / "b", fixture=fx), "ml-1m")}


def _pins(archives: dict[str, bytes]) -> dict[str, dict]:
    return {name[:-4]: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "md5": None}
            for name, data in archives.items()}


@pytest.fixture()
def registry(archives, tmp_path) -> Path:
    p = tmp_path / "registry.json"
    p.write_text(json.dumps(_pins(archives)))
    return p


def _cli(*args, cwd: Path, env: dict[str, str]):
    return subprocess.run([sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **env}, timeout=300)


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_fetch_cli_downloads_verifies_caches_and_second_call_is_a_noop(archives, registry, tmp_path):
    served = Served(files={f"/{k}": v for k, v in archives.items()})
    cache = tmp_path / "cache"
    with LocalServer(served) as url:
        env = {"HARNESS_OFFLINE": "0", "HARNESS_DATA_MIRROR": url, "HARNESS_DATA_REGISTRY": str(registry)}
        first = _cli("data", "fetch", "ml-100k", "--cache-dir", str(cache), cwd=tmp_path, env=env)
        assert first.returncode == 0, first.stderr
        second = _cli("data", "fetch", "ml-100k", "--cache-dir", str(cache), cwd=tmp_path, env=env)
        listed = _cli("data", "list", "--cache-dir", str(cache), cwd=tmp_path, env=env)
    target = cache / "data" / "ml-100k"
    assert first.stdout.strip() == f"ml-100k: downloaded and verified (size and SHA-256): {target}"
    assert first.stderr.count("do not redistribute") == 1  # the terms line, once
    # a progress bar in bytes that reached the archive's size (tqdm prints kibibytes as "32.5k")
    assert re.search(r"ml-100k\.zip: 100%\|.*\| ([\d.]+k)/\1 \[.*B/s\]", first.stderr)
    assert {"u.data", "u.item", "u.user", ".fetched.json"} <= {p.name for p in target.iterdir()}
    record = json.loads((target / ".fetched.json").read_text())
    assert record["sha256"] == hashlib.sha256(archives["ml-100k.zip"]).hexdigest()
    assert not (cache / "data" / ".partial").exists()
    assert second.returncode == 0 and second.stdout.startswith("ml-100k: already cached")
    assert second.stderr == ""  # no terms line, no download
    assert [p for p, _, _ in served.log] == ["/ml-100k.zip"]  # one request in all
    row = next(ln for ln in listed.stdout.splitlines() if ln.startswith("ml-100k "))
    assert "cached" in row and "not cached" not in row and str(target) in row and "KiB" in row
    assert "ml-1m            not cached" in listed.stdout
    inter = load_dataset("ml-100k", fetch.cached("ml-100k", cache))
    assert inter.n_users == 60 and inter.counts["bad_release_year"] == 2


def test_corrupted_byte_fails_with_one_line_and_caches_nothing(archives, registry, tmp_path):
    bad = bytearray(archives["ml-100k.zip"])
    bad[len(bad) // 2] ^= 0xFF
    served = Served(files={"/ml-100k.zip": bytes(bad)})
    cache = tmp_path / "cache"
    with LocalServer(served) as url:
        out = _cli("data", "fetch", "ml-100k", "--cache-dir", str(cache), "--mirror", url, "--registry",
                   str(registry), cwd=tmp_path, env={"HARNESS_OFFLINE": "0"})
    assert out.returncode == 2
    err = [ln for ln in out.stderr.splitlines() if ln.startswith("error:")]
    assert len(err) == 1 and out.stderr.strip().endswith(err[0])
    assert "the download has SHA-256" in err[0] and "expected " + _pins(archives)["ml-100k"]["sha256"][:16] in err[0]
    assert "nothing was cached" in err[0]
    assert _files(cache) == []


def test_truncated_download_resumes_from_where_it_stopped(archives, registry, tmp_path):
    data = archives["ml-100k.zip"]
    served = Served(files={"/ml-100k.zip": data}, truncate_once={"/ml-100k.zip"})
    reg = sources.load_registry(registry)
    with LocalServer(served) as url:
        with pytest.raises(HarnessError, match=r"interrupted after \d+ of \d+ bytes .*rerun the same command"):
            fetch.fetch("ml-100k", tmp_path, mirror=url, registry=reg, quiet=True, out=io.StringIO())
        part = tmp_path / "data" / ".partial" / "ml-100k.zip.part"
        assert part.stat().st_size == len(data) // 2
        assert fetch.cached("ml-100k", tmp_path) is None
        got = fetch.fetch("ml-100k", tmp_path, mirror=url, registry=reg, quiet=True, out=io.StringIO())
    assert got.downloaded and (got.path / "u.data").is_file() and not part.exists()
    (_, r1, n1), (_, r2, n2) = served.log
    assert r1 is None and r2 == f"bytes={len(data) // 2}-"  # the second request asked for the rest only
    assert n1 + n2 == len(data)


def test_server_ignoring_the_range_gets_a_fresh_download(archives, registry, tmp_path):
    data = archives["ml-100k.zip"]
    part = tmp_path / "data" / ".partial" / "ml-100k.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"x" * 1000)  # a stale partial file: resuming onto it would corrupt the archive
    served = Served(files={"/ml-100k.zip": data}, ignore_range={"/ml-100k.zip"})
    with LocalServer(served) as url:
        got = fetch.fetch("ml-100k", tmp_path, mirror=url, registry=sources.load_registry(registry), quiet=True,
                          out=io.StringIO())
    assert got.downloaded and served.log == [("/ml-100k.zip", "bytes=1000-", len(data))]


def test_404_is_one_line_and_caches_nothing(registry, tmp_path):
    cache = tmp_path / "cache"
    with LocalServer(Served()) as url:
        out = _cli("data", "fetch", "ml-1m", "--cache-dir", str(cache), "--mirror", url, "--registry", str(registry),
                   cwd=tmp_path, env={"HARNESS_OFFLINE": "0"})
    assert out.returncode == 2
    assert out.stderr.splitlines()[-1] == (
        f"error: {url}/ml-1m.zip: HTTP 404 Not Found; download https://files.grouplens.org/datasets/movielens/"
        "ml-1m.zip by hand, unzip it and pass --data-dir with the unzipped folder (the one holding ratings.dat, "
        "movies.dat, users.dat)")
    assert _files(cache) == []


def test_unreachable_host_says_what_to_download_by_hand(tmp_path):
    with LocalServer(Served()) as url:
        pass  # the port is closed again: nothing listens there now
    with pytest.raises(HarnessError, match=r"^cannot reach 127\.0\.0\.1:\d+ \(.*\); download https://files\."
                                           r"grouplens\.org/datasets/movielens/ml-100k\.zip by hand"):
        fetch.fetch("ml-100k", tmp_path, mirror=url, quiet=True, timeout=5, out=io.StringIO())
    assert fetch.cached("ml-100k", tmp_path) is None


def test_offline_never_touches_the_network(archives, registry, tmp_path):
    served = Served(files={f"/{k}": v for k, v in archives.items()})
    with LocalServer(served) as url:
        env = {"HARNESS_OFFLINE": "1", "HARNESS_DATA_MIRROR": url, "HARNESS_DATA_REGISTRY": str(registry)}
        out = _cli("data", "fetch", "ml-100k", "--cache-dir", str(tmp_path / "c"), cwd=tmp_path, env=env)
        flag = _cli("data", "fetch", "ml-1m", "--offline", "--cache-dir", str(tmp_path / "c"), cwd=tmp_path,
                    env={**env, "HARNESS_OFFLINE": "0"})
    assert out.returncode == 2 and flag.returncode == 2 and served.log == []
    assert out.stderr.strip() == (
        "error: ml-100k is not in the data cache and --offline / HARNESS_OFFLINE=1 is set: download "
        "https://files.grouplens.org/datasets/movielens/ml-100k.zip by hand, unzip it and pass --data-dir with "
        "the unzipped folder (the one holding u.data, u.item, u.user)")
    assert "ml-1m is not in the data cache" in flag.stderr


def test_offline_advice_works_as_written(archives, tmp_path):
    """The offline line's advice, followed to the letter: unzip the archive (anywhere) and pass --data-dir
    with the folder holding the files it names; the run then reads it, offline. It never says to unzip into
    the data cache, where a folder that `data fetch` did not verify is not used."""
    hyps = str(Path(__file__).resolve().parents[1] / "hypotheses")
    args = ["run", "H2", "--dataset", "ml-100k", "--seeds", "2", "--quiet", "--no-cache", "--hypotheses", hyps,
            "--results-dir", str(tmp_path / "res")]
    env = {"HARNESS_OFFLINE": "1", "HARNESS_CACHE_DIR": str(tmp_path / "cache")}
    out = _cli(*args, cwd=tmp_path, env=env)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    m = re.search(r"download (https://\S+/ml-100k\.zip) by hand, unzip it and pass --data-dir with the unzipped "
                  r"folder \(the one holding ([\w., ]+)\)$", out.stderr.strip())
    assert m and m.group(1) == sources.SOURCES["ml-100k"].url, out.stderr
    assert str(tmp_path / "cache") not in out.stderr  # no advice to put files where they are not used
    with zipfile.ZipFile(io.BytesIO(archives["ml-100k.zip"])) as z:  # what `unzip ml-100k.zip` does
        z.extractall(tmp_path / "downloads")
    (folder,) = {p.parent for name in m.group(2).split(", ") for p in (tmp_path / "downloads").rglob(name)}
    again = _cli(*args, "--data-dir", str(folder), cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith("H2: ")
    assert not (tmp_path / "cache").exists()  # nothing fetched, nothing cached


def test_run_reads_the_cached_dataset_without_data_dir(archives, registry, tmp_path):
    """H2 on ml-100k with no --data-dir: fetched on first use into HARNESS_CACHE_DIR, read from there after."""
    served = Served(files={f"/{k}": v for k, v in archives.items()})
    cache = tmp_path / "user-cache"
    env = {"HARNESS_CACHE_DIR": str(cache), "HARNESS_DATA_REGISTRY": str(registry)}
    root = Path(__file__).resolve().parents[1]
    args = ["run", "H2", "--dataset", "ml-100k", "--seeds", "2", "--quiet", "--no-cache", "--hypotheses",
            str(root / "hypotheses")]
    with LocalServer(served) as url:
        first = _cli(*args, "--results-dir", str(tmp_path / "r1"), cwd=tmp_path,
                     env={**env, "HARNESS_OFFLINE": "0", "HARNESS_DATA_MIRROR": url})
    assert first.returncode == 0, first.stderr
    assert (cache / "data" / "ml-100k" / ".fetched.json").is_file()
    again = _cli(*args, "--results-dir", str(tmp_path / "r2"), "--offline", cwd=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1].startswith("H2: ") and len(served.log) == 1
    explicit = _cli(*args, "--results-dir", str(tmp_path / "r3"), "--data-dir", str(cache / "data" / "ml-100k"),
                    cwd=tmp_path, env={"HARNESS_CACHE_DIR": str(tmp_path / "empty")})
    assert explicit.returncode == 0, explicit.stderr
    assert explicit.stdout.splitlines()[-1] == again.stdout.splitlines()[-1]


def test_ml1m_archive_unpacks_for_its_loader(archives, registry, tmp_path):
    with LocalServer(Served(files={"/ml-1m.zip": archives["ml-1m.zip"]})) as url:
        got = fetch.fetch("ml-1m", tmp_path, mirror=url, registry=sources.load_registry(registry), quiet=True,
                          out=io.StringIO())
    assert got.path == tmp_path / "data" / "ml-1m" and (got.path / "ratings.dat").is_file()
    inter = load_dataset("ml-1m", got.path)
    assert inter.n_users == 60 and inter.item_content.shape[1] == 18


@pytest.mark.parametrize("extra, message", [
    ({"../evil.txt": b"x"}, "points outside the folder"),
    (None, "the archive lacks u.data"),
])
def test_unsafe_or_wrong_archive_is_refused_and_nothing_cached(extra, message, tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    (d / "u.item").write_text("1|x||||0\n")
    data = _zip(d, "ml-100k", extra)
    reg = dict(sources.SOURCES, **{"ml-100k": sources.Source(
        "ml-100k", "zip", "https://example.invalid/ml-100k.zip", "ml-100k.zip", len(data),
        hashlib.sha256(data).hexdigest(), "test", "terms", ("u.data", "u.item"))})
    cache = tmp_path / "cache"
    with LocalServer(Served(files={"/ml-100k.zip": data})) as url:
        with pytest.raises(HarnessError, match=message):
            fetch.fetch("ml-100k", cache, mirror=url, registry=reg, quiet=True, out=io.StringIO())
    assert _files(cache) == [] and fetch.cached("ml-100k", cache) is None


def test_unpinned_source_says_how_it_is_verified(tmp_path):
    d = tmp_path / "src"
    d.mkdir()
    for n in ("interactions.csv", "items.csv"):
        (d / n).write_text("user_id,item_id\n")
    data = _zip(d, "data_original")
    out = io.StringIO()
    with LocalServer(Served(files={"/data_original.zip": data})) as url:
        got = fetch.fetch("kion", tmp_path, mirror=url, quiet=True, out=out)
    assert sources.SOURCES["kion"].sha256 is None and (got.path / "interactions.csv").is_file()
    assert "kion: note: zip integrity only (no published size or SHA-256)" in out.getvalue()


def test_vk_lsvd_requests_only_the_files_a_hypothesis_needs():
    files = fetch.hub_files("up0.001_ip0.001")
    weeks = [f for f in files if "/week_" in f]
    assert len(weeks) == 26 and weeks[0] == "subsamples/up0.001_ip0.001/train/week_00.parquet"
    assert weeks[-1] == "subsamples/up0.001_ip0.001/validation/week_25.parquet"
    assert files[26:] == ["metadata/items_metadata.parquet", "metadata/users_metadata.parquet",
                          "metadata/item_embeddings.npz"]


def test_vk_lsvd_without_huggingface_hub_is_one_line_with_the_install_command(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "huggingface_hub" else real(n, *a))
    with pytest.raises(HarnessError, match=r'^vk-lsvd:up0\.001_ip0\.001: fetching VK-LSVD needs huggingface_hub: '
                                           r'pip install -e "\.\[hub\]"'):
        fetch.fetch("vk-lsvd:up0.001_ip0.001", tmp_path, out=io.StringIO())
    with pytest.raises(HarnessError, match=r"needs a subsample: vk-lsvd:<name>"):
        fetch.fetch("vk-lsvd", tmp_path)
    assert _files(tmp_path) == []


def test_registry_pins_without_md5_replace_the_builtin_md5(archives, tmp_path):
    """A registry entry pinning another archive by size and SHA-256 (the README's example has no md5)
    drops the built-in GroupLens MD5, which only fits GroupLens' own zip: the fetch verifies and caches.
    An md5 given with the pins is still checked."""
    data = archives["ml-100k.zip"]
    p = tmp_path / "r.json"
    p.write_text(json.dumps({"ml-100k": {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}}))
    reg = sources.load_registry(p)
    assert reg["ml-100k"].md5 is None and sources.SOURCES["ml-100k"].md5 == "0e33842e24a9c977be4e0107933c0723"
    assert sources.load_registry(None)["ml-100k"].md5 == sources.SOURCES["ml-100k"].md5
    p2 = tmp_path / "url-only.json"  # another host for the same archive: every built-in pin stays
    p2.write_text(json.dumps({"ml-100k": {"url": "https://mirror.example.org/ml-100k.zip"}}))
    assert sources.load_registry(p2)["ml-100k"].md5 == sources.SOURCES["ml-100k"].md5
    with LocalServer(Served(files={"/ml-100k.zip": data})) as url:
        got = fetch.fetch("ml-100k", tmp_path / "a", mirror=url, registry=reg, quiet=True, out=io.StringIO())
        assert got.downloaded and (got.path / "u.data").is_file()
        p.write_text(json.dumps({"ml-100k": {"size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                             "md5": "0" * 32}}))
        with pytest.raises(HarnessError, match=r"MD5"):
            fetch.fetch("ml-100k", tmp_path / "b", mirror=url, registry=sources.load_registry(p), quiet=True,
                        out=io.StringIO())
    assert _files(tmp_path / "b") == []


def test_registry_file_errors_are_one_line(tmp_path):
    p = tmp_path / "r.json"
    p.write_text(json.dumps({"ml-10k": {}}))
    with pytest.raises(HarnessError, match=r"Unknown dataset 'ml-10k'. Did you mean: ml-100k"):
        sources.load_registry(p)
    p.write_text(json.dumps({"ml-100k": {"sha": "x"}}))
    with pytest.raises(HarnessError, match=r"entry 'ml-100k' has unknown field 'sha'; allowed: .*sha256"):
        sources.load_registry(p)
    with pytest.raises(HarnessError, match=r"Unknown dataset to fetch 'ml-100'. Did you mean: ml-100k"):
        sources.get("ml-100")


def test_pins_are_well_formed_and_cited():
    for src in sources.SOURCES.values():
        assert src.pinned_from and src.terms
        if src.sha256 is not None:
            assert len(src.sha256) == 64 and int(src.sha256, 16) >= 0 and src.size and src.size > 0
    assert sources.SOURCES["ml-100k"].size == 4924029 and "url_checksums/movielens.txt" in sources.SOURCES[
        "ml-100k"].pinned_from


@pytest.mark.parametrize("platform, environ, expected", [
    ("linux", {"HARNESS_CACHE_DIR": "/x/h"}, "/x/h"),
    ("linux", {"XDG_CACHE_HOME": "/xdg"}, "/xdg/recsys-harness"),
    ("linux", {"XDG_CACHE_HOME": "relative"}, "~/.cache/recsys-harness"),  # XDG: relative paths are ignored
    ("darwin", {}, "~/Library/Caches/recsys-harness"),
    ("win32", {"LOCALAPPDATA": "C:/Users/u/AppData/Local"}, "C:/Users/u/AppData/Local/recsys-harness/Cache"),
])
def test_user_cache_dir_follows_the_platform_convention(platform, environ, expected):
    assert cachedir.user_cache_dir(environ, platform) == Path(expected).expanduser()
