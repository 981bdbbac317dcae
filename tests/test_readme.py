"""README examples are tests: every shell and Python block of README.md runs here, in README order.

The rules (for whoever edits README.md)
---------------------------------------
* Every ```bash and ```python block runs as written, one after another, in ONE temporary project: a copy
  of the shipped ``hypotheses/`` files, an empty ``results/`` and ``.cache/`` (the defaults, relative to the
  project), the generated MovieLens fixture (:mod:`harness.data.mlfixture`) at ``../shared/data/ml-100k``
  (the folder the README points at), ``../mymodels/`` beside it, and a data cache of its own
  (``HARNESS_CACHE_DIR``). Nothing is written into the repository (the last test checks).
* Datasets fetched by name come from a server on 127.0.0.1 (``HARNESS_DATA_MIRROR``) holding a fixture
  ``ml-100k.zip`` in the GroupLens layout, pinned by its size and SHA-256 in ``HARNESS_DATA_REGISTRY``
  (no ``md5``, as a registry for a re-packed archive is written); Hugging Face is pointed there too and
  offline. Nothing can reach the internet.
* A shell block runs command by command (``\\``-continued lines joined; comment lines dropped) with bash in
  the project folder, where ``python`` is this interpreter; each must exit 0. A Python block runs as a
  script with the project as working folder. A block shows a file (``file PATH`` below) or a TOML snippet
  (``install``) is written, not run, and later blocks use it.
* The ONLY way to change what runs is a mark: an HTML comment on the line right before the fence (GitHub
  and every CommonMark renderer hide it), ``<!-- readme-test: DIRECTIVE; DIRECTIVE ... -->``:

  - ``skip: REASON`` - the block does not run (it installs packages or runs this very suite); the test
    reports it as skipped with the reason.
  - ``skip line `TEXT`: REASON`` - the one line starting with TEXT does not run.
  - ``sub `OLD` => `NEW`[: REASON]`` - OLD (exactly once in the block) is replaced by NEW before running:
    fewer seeds for slow examples, or a real run id for a placeholder (``{run:H1:2}`` = the id of the
    second H1 run folder the walkthrough wrote so far).
  - ``given NAME, ...`` - the test provides these files in the project first (see :data:`GIVEN`).
  - ``file PATH`` - the block is the content of PATH (relative to the project; the prose before the block
    must name it in backticks), written there.
  - ``install`` - a ``pyproject.toml`` snippet of another package: its ``[project.entry-points]`` are
    installed the way pip does (a ``.dist-info/entry_points.txt`` on the import path).
  - ``prelude `CODE``` - a Python fragment (one argument of ``Hypothesis(...)``) runs after CODE.
  - ``then `COMMAND``` - an extra command after the block, checking what it did.
  - ``stdout has `TEXT``` - the block's output (its ``then`` commands' included) contains TEXT.

  A mark that does not parse, a ``sub`` or ``skip line`` that no longer matches, a block in another
  language, or a mark that is not right before a fence, fails :func:`test_every_block_and_mark_is_understood`.
* Time: the slow examples run with fewer seeds by ``sub`` (the first command, ``run H1 --dataset
  synthetic-vk``, with 1 seed: 5 take 3 minutes on 2 cores); later H1 synthetic-vk commands (gate, Dask)
  use that seed and find its tasks in the task cache. The whole walkthrough takes about 2-3 minutes.
  Blocks depend on the ones before them: run the whole file, not one block.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from _httpserver import LocalServer, Served
from _shipped import ROOT, SHIPPED
from markdown_it import MarkdownIt

from harness.arms.registry import GROUP
from harness.data import mlfixture, sources

README = ROOT / "README.md"
LANGS = ("bash", "python", "toml")
_DIRECTIVES = [  # (name, pattern at the start of what is left of the mark)
    ("skip_line", r"skip line `([^`]+)`:\s*([^;]+)"),
    ("skip", r"skip:\s*([^;]+)"),
    ("sub", r"sub `([^`]+)` => `([^`]*)`(?::\s*([^;]+))?"),
    ("given", r"given ([\w./-]+(?:,\s*[\w./-]+)*)"),
    ("file", r"file ([\w./-]+)"),
    ("install", r"install\b"),
    ("prelude", r"prelude `([^`]+)`"),
    ("then", r"then `([^`]+)`"),
    ("stdout", r"stdout has `([^`]+)`"),
]
_MARK = re.compile(r"^\s*<!--\s*readme-test:(.*?)-->\s*$", re.S)


@dataclass
class Mark:
    skip: str | None = None
    skip_lines: list[tuple[str, str]] = field(default_factory=list)
    subs: list[tuple[str, str]] = field(default_factory=list)
    given: list[str] = field(default_factory=list)
    file: str | None = None
    install: bool = False
    prelude: list[str] = field(default_factory=list)
    then: list[str] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)


@dataclass
class Block:
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    mark: Mark
    prose: str  # the README lines just before the block (where it says which file it is)

    @property
    def id(self) -> str:
        return f"L{self.line}-{self.lang}"


def parse_mark(body: str) -> Mark:
    """The directives of one mark (the text after ``readme-test:``); anything else raises ValueError."""
    mark, rest = Mark(), body.strip()
    while rest:
        found = [(name, m) for name, pattern in _DIRECTIVES if (m := re.match(pattern, rest))]
        if not found:
            raise ValueError(f"cannot read the mark from {rest[:60]!r}")
        name, m = found[0]
        g = [x.strip() if x else x for x in m.groups()]
        if name == "skip_line":
            mark.skip_lines.append((g[0], g[1]))
        elif name == "skip":
            mark.skip = g[0]
        elif name == "sub":
            mark.subs.append((g[0], g[1]))
        elif name == "given":
            mark.given += [x.strip() for x in g[0].split(",")]
        elif name == "file":
            mark.file = g[0]
        elif name == "install":
            mark.install = True
        elif name == "prelude":
            mark.prelude.append(g[0])
        elif name == "then":
            mark.then.append(g[0])
        else:
            mark.stdout.append(g[0])
        rest = rest[m.end():].strip()
        if rest and not rest.startswith(";"):
            raise ValueError(f"expected ';' between directives, got {rest[:60]!r}")
        rest = rest.lstrip(";").strip()
    return mark


def readme_blocks(text: str | None = None) -> list[Block]:
    """Every fenced block of the README (as CommonMark parses it) with its mark; raises ValueError for a
    mark that is not right before a fence."""
    text = README.read_text(encoding="utf-8") if text is None else text
    lines = text.splitlines()
    tokens = MarkdownIt("commonmark").parse(text)
    out, used = [], set()
    for i, tok in enumerate(tokens):
        if tok.type == "code_block":
            raise ValueError(f"README.md:{tok.map[0] + 1}: an indented code block; fence it (```bash / ```python)")
        if tok.type != "fence":
            continue
        found = _MARK.match(tokens[i - 1].content) if i and tokens[i - 1].type == "html_block" else None
        mark = parse_mark(found.group(1)) if found else Mark()
        if found:
            used.add(i - 1)
        start = tok.map[0]
        out.append(Block(start + 1, tok.info.strip(), tok.content, mark, "\n".join(lines[max(0, start - 4):start])))
    for i, tok in enumerate(tokens):
        if tok.type == "html_block" and "readme-test" in tok.content and i not in used:
            raise ValueError(f"README.md:{tok.map[0] + 1}: a readme-test mark that is not on the line right before "
                             "a fence, or does not parse as <!-- readme-test: ... -->")
    return out


def commands(text: str) -> list[str]:
    """A shell block's commands: ``\\``-continued lines joined, blank and comment lines dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        cur += line.rstrip()
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        if cur.strip() and not cur.lstrip().startswith("#"):
            out.append(cur.strip())
        cur = ""
    assert not cur.strip(), f"a command ends with a line continuation: {cur!r}"
    return out


def adapted(block: Block) -> str:
    """The block's text after its ``skip line`` and ``sub`` directives (placeholders not yet resolved)."""
    lines = block.text.splitlines()
    for prefix, _ in block.mark.skip_lines:
        hits = [ln for ln in lines if ln.startswith(prefix)]
        assert len(hits) == 1, f"{block.id}: 'skip line `{prefix}`' matches {len(hits)} lines, not 1"
        lines.remove(hits[0])
    text = "\n".join(lines) + "\n"
    for old, new in block.mark.subs:
        assert text.count(old) == 1, f"{block.id}: 'sub `{old}`' occurs {text.count(old)} times, not once"
        text = text.replace(old, new)
    return text


BLOCKS = readme_blocks()
CODE = [b for b in BLOCKS if b.lang]  # the text blocks (the package layout) are checked, not run


# --------------------------------------------------------------------------- the walkthrough's project
def _write_user_artists(path: Path) -> None:
    """Last.fm-style ``user item plays``, whitespace-separated, no header (as tests/test_own_data_cli.py)."""
    rng = np.random.default_rng(1)
    rows = [(u, a, int(rng.integers(1, 50))) for u in range(100) for a in rng.choice(60, 20, replace=False)]
    path.write_text("".join(f"{u}  {a}\t{p}\n" for u, a, p in rows))


def _mymodel() -> str:
    (block,) = [b for b in BLOCKS if b.mark.file == "../mymodels/mymodel.py"]
    return block.text


def _give(name: str, proj: Path) -> None:
    """Write a ``given`` file into the project (each one what its README example reads)."""
    from test_own_data_cli import movielens_latest

    if name in ("ratings.csv", "movies.csv"):
        if not (proj / name).exists():
            movielens_latest(proj)  # MovieLens-latest ratings.csv (userId,movieId,...) and movies.csv (genres)
    elif name == "user_artists.dat":
        _write_user_artists(proj / name)
    elif name == "mypkg/recs.py":  # "mypkg.recs:fit": the README's own model as an importable package
        (proj / "mypkg").mkdir(exist_ok=True)
        (proj / "mypkg" / "recs.py").write_text(_mymodel())
    else:
        raise AssertionError(f"no given file {name!r}: add it to _give")


GIVEN = ("ratings.csv", "movies.csv", "user_artists.dat", "mypkg/recs.py")


def _install(toml_text: str, proj: Path) -> None:
    """Install a package's entry points as pip would: ``<dist>.dist-info`` with METADATA and
    entry_points.txt, here in the project folder (on ``python -m``'s import path)."""
    doc = tomllib.loads(toml_text)
    groups = doc["project"]["entry-points"]
    assert list(groups) == [GROUP], f"the README registers arms in {list(groups)}, the harness reads {GROUP!r}"
    dist = sorted({ref.split(":")[0].split(".")[0] for eps in groups.values() for ref in eps.values()})[0]
    info = proj / f"{dist}-0.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{g}]\n" + "".join(f"{k} = {v}\n" for k, v in eps.items()) for g, eps in groups.items()))


@dataclass
class Walk:
    proj: Path
    env: dict[str, str]
    blocks_dir: Path
    repo_before: dict[str, float | None]
    runs: dict[str, list[str]] = field(default_factory=dict)

    def record_runs(self) -> None:
        for summary in sorted((self.proj / "results").glob("*/*/summary.json")):
            hid, run = summary.parent.parent.name, summary.parent.name
            if run not in self.runs.setdefault(hid, []):
                self.runs[hid].append(run)

    def resolve(self, text: str) -> str:
        def run_id(m: re.Match) -> str:
            ids = self.runs.get(m.group(1), [])
            n = int(m.group(2))
            assert len(ids) >= n, f"{{run:{m.group(1)}:{n}}}: the walkthrough wrote only these runs: {ids}"
            return ids[n - 1]
        return re.sub(r"\{run:([A-Za-z0-9_-]+):(\d+)\}", run_id, text)

    def sh(self, cmd: str) -> subprocess.CompletedProcess:
        out = subprocess.run(cmd, shell=True, executable="/bin/bash", cwd=self.proj, env=self.env,
                             capture_output=True, text=True, timeout=900)
        self.record_runs()
        return out


def _repo_state() -> dict[str, float | None]:
    """What the walkthrough must not touch: the checkout's top level, its hypotheses/ and results/ files,
    and the README's neighbours of the checkout (../mymodels, ../shared/data)."""
    state: dict[str, float | None] = {p.name: None for p in ROOT.iterdir()}
    state |= {str(p): p.stat().st_mtime for d in ("hypotheses", "results") for p in (ROOT / d).rglob("*")}
    state |= {str(p): p.stat().st_mtime for p in (ROOT.parent / "mymodels", ROOT.parent / "shared" / "data")
              if p.exists()}
    return state


@pytest.fixture(scope="module")
def walk(tmp_path_factory, ml100k_dir):
    before = _repo_state()
    base = tmp_path_factory.mktemp("readme")
    proj = base / "proj"
    (proj / "hypotheses").mkdir(parents=True)
    for name in SHIPPED.values():
        shutil.copy(ROOT / "hypotheses" / name, proj / "hypotheses" / name)
    shutil.copytree(ml100k_dir, base / "shared" / "data" / "ml-100k")
    grouplens = mlfixture.write_100k(base / "archive" / "ml-100k", layout="grouplens")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(grouplens.iterdir()):
            z.write(p, f"ml-100k/{p.name}")
    archive = buf.getvalue()
    registry = base / "registry.json"  # the fixture archive's pins, written as for any re-packed archive
    registry.write_text(json.dumps({"ml-100k": {"size": len(archive), "sha256": hashlib.sha256(archive).hexdigest()}}))
    bin_dir = str(Path(sys.executable).parent)
    with LocalServer(Served(files={"/ml-100k.zip": archive}), lifetime=1800) as url:
        env = {**os.environ, "HARNESS_OFFLINE": "0", "HARNESS_DATA_MIRROR": url, "HARNESS_DATA_REGISTRY": str(registry),
               "HARNESS_CACHE_DIR": str(base / "user-cache"), "HF_ENDPOINT": url, "HF_HUB_OFFLINE": "1",
               "MPLBACKEND": "Agg", "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
               "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        (base / "blocks").mkdir()
        yield Walk(proj, env, base / "blocks", before)


# --------------------------------------------------------------------------- the tests
def test_every_block_and_mark_is_understood():
    assert len(BLOCKS) > 20  # the parser found the README's blocks
    for b in BLOCKS:
        assert b.lang in LANGS or b.lang == "", f"{b.id}: a ```{b.lang} block: run it here or fence it as text"
        if b.lang == "":  # plain text (the package layout): must not be a command or code that goes untested
            assert not re.search(r"^\s*(python|pip|pytest|\$ )", b.text, re.M), f"{b.id}: code in an unlabelled fence"
            continue
        m = b.mark
        if m.skip:
            assert not (m.subs or m.skip_lines or m.file or m.install), f"{b.id}: a skipped block with other directives"
            continue
        if b.lang == "toml":
            assert m.install, f"{b.id}: a TOML block is either installed (install) or skipped"
        if m.file:
            assert f"`{m.file}`" in b.prose, f"{b.id}: the prose before the block does not name `{m.file}`"
            assert not (m.subs or m.skip_lines or m.then), f"{b.id}: a file is written as shown"
        assert set(m.given) <= set(GIVEN), f"{b.id}: given {m.given}, the test provides {GIVEN}"
        if b.lang == "bash" and not m.file:
            assert commands(adapted(b)), f"{b.id}: no command left to run"
        else:
            adapted(b)
    assert {b.mark.file for b in BLOCKS} >= {"../mymodels/mymodel.py", "hypotheses/h98_mine.py"}


@pytest.mark.parametrize("readme, problem", [
    ("<!-- readme-test: skp: typo -->\n```bash\nls\n```\n", "cannot read the mark"),
    ("<!-- readme-test: skip: a reason -->\n\ntext\n\n```bash\nls\n```\n", "not on the line right before"),
    ("<!-- readme-test: sub `--seeds 5` => `--seeds 1` -->\n```bash\nls --seeds 3\n```\n", "occurs 0 times"),
    ("<!-- readme-test: skip line `pip`: installs -->\n```bash\nls\n```\n", "matches 0 lines"),
    ("<!-- readme-test: given a; b -->\n```bash\nls\n```\n", "expected ';'|cannot read"),
    ("    python -m harness list\n", "an indented code block"),
])
def test_a_mark_that_does_not_fit_its_block_fails(readme, problem):
    """The checks above can fail: a typo, a mark away from its fence, a stale ``sub`` or ``skip line``."""
    with pytest.raises((ValueError, AssertionError), match=problem):
        for block in readme_blocks(readme):
            adapted(block)


def test_example_ids_are_free():
    """The ids of the README's example hypotheses (``id=`` in its blocks, ``new <id>`` in its text) are no
    shipped hypothesis' id and differ from each other: a reader following every example gets no clash."""
    text = README.read_text(encoding="utf-8")
    ids = [i for b in BLOCKS for i in re.findall(r"""\bid=["']([^"']+)["']""", b.text)]
    ids += re.findall(r"python -m harness new (\S+)", text)
    assert ids and len(ids) == len(set(ids)), ids
    assert not set(ids) & set(SHIPPED), f"README example ids {ids} clash with shipped {sorted(set(ids) & set(SHIPPED))}"


def test_registry_example_loads_as_written(tmp_path):
    """The README's ``--registry`` example JSON, as printed: valid, each field taken, and (it pins another
    archive) the built-in MD5 of GroupLens' zip dropped instead of failing every download."""
    text = " ".join(README.read_text(encoding="utf-8").split())  # the example wraps over two lines
    (example,) = re.findall(r'e\.g\. `(\{"ml-100k": \{"filename".*?\}\})`', text)
    path = tmp_path / "registry.json"
    path.write_text(example)
    doc = json.loads(example)
    reg = sources.load_registry(path)
    for key, value in doc["ml-100k"].items():
        assert getattr(reg["ml-100k"], key) == value
    assert reg["ml-100k"].md5 is None and sources.SOURCES["ml-100k"].md5 is not None
    out = subprocess.run([sys.executable, "-m", "harness", "data", "list", "--registry", str(path), "--cache-dir",
                          str(tmp_path / "c")], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.startswith("ml-100k "), out.stderr


@pytest.mark.parametrize("block", CODE, ids=[b.id for b in CODE])
def test_readme_block(block: Block, walk: Walk):
    m = block.mark
    if m.skip:
        pytest.skip(f"README.md:{block.line}: {m.skip}")
    for name in m.given:
        _give(name, walk.proj)
    if m.file:
        target = (walk.proj / m.file).resolve()
        assert target.is_relative_to(walk.proj.parent), target
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(block.text)
        return
    text = walk.resolve(adapted(block))
    outputs = []
    if block.lang == "toml":
        _install(text, walk.proj)
    elif block.lang == "python":
        script = walk.blocks_dir / f"{block.id}.py"
        script.write_text("".join(f"{p}\n" for p in m.prelude) + text)
        out = subprocess.run([sys.executable, str(script)], cwd=walk.proj, env=walk.env, capture_output=True,
                             text=True, timeout=900)
        walk.record_runs()
        assert out.returncode == 0, f"README.md:{block.line}: the Python block failed:\n{out.stderr[-3000:]}"
        outputs.append(out.stdout)
    for cmd in (commands(text) if block.lang == "bash" else []) + [walk.resolve(c) for c in m.then]:
        out = walk.sh(cmd)
        assert out.returncode == 0, (f"README.md:{block.line}: `{cmd}` exited {out.returncode}\n"
                                     f"stdout: {out.stdout[-2000:]}\nstderr: {out.stderr[-3000:]}")
        outputs.append(out.stdout)
    for want in m.stdout:
        assert want in "".join(outputs), f"README.md:{block.line}: no {want!r} in the output:\n{''.join(outputs)}"


def test_the_walkthrough_wrote_nothing_into_the_repository(walk: Walk):
    assert walk.runs.get("H1") and walk.runs.get("H98"), walk.runs  # the walkthrough ran (this test runs last)
    assert _repo_state() == walk.repo_before
