"""Discover hypotheses: every ``hypotheses/*.py`` exposing ``HYPOTHESIS``; ids like ``"H1"``.

A broken file is never skipped silently: ``load_all`` returns its error so ``list`` can show it,
and ``get`` raises it.
"""
from __future__ import annotations

import io
import re
import tokenize
import traceback
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError, suggest
from harness.spec import Arm, Hypothesis


@dataclass(frozen=True)
class Entry:
    """One hypothesis file: its hypothesis, or the one-line error that stops it loading."""

    path: Path
    hypothesis: Hypothesis | None
    error: str | None


def default_dir() -> Path:
    """``./hypotheses`` when it exists, else the one beside the installed package."""
    here = Path.cwd() / "hypotheses"
    return here if here.is_dir() else Path(__file__).resolve().parent.parent / "hypotheses"


def load_file(path: Path) -> Hypothesis:
    """Import one hypothesis file; raise HarnessError naming the file on any problem.

    Whatever the file raises while it runs is its fault and becomes that one line (with the file's
    line), including ``SystemExit`` (a stray ``sys.exit()`` must not end ``run`` or ``gate`` with exit
    0 and no output) and any other ``BaseException``; only ``KeyboardInterrupt`` still interrupts."""
    path = Path(path)
    try:
        code = compile(_source(path), str(path), "exec")
    except SyntaxError as e:
        raise HarnessError(f"{path}:{e.lineno}: syntax error: {e.msg}; fix the hypothesis file") from None
    except ValueError as e:  # a NUL byte (Python < 3.12)
        raise HarnessError(f"{path}: {e}; save the hypothesis file as UTF-8 text") from None
    module = {"__name__": f"hypotheses.{path.stem}", "__file__": str(path)}
    try:
        exec(code, module)
    except HarnessError as e:
        raise HarnessError(f"{path}: {e}") from None
    except KeyboardInterrupt:
        raise
    except SystemExit as e:  # sys.exit()/exit()/quit() in the file
        raise HarnessError(f"{path}:{_line(e, path)}: the file called sys.exit({e.code!r}) while loading; a "
                           "hypothesis file only defines HYPOTHESIS: remove the exit call") from None
    except BaseException as e:  # any error while building the spec is the file's fault
        raise HarnessError(f"{path}:{_line(e, path)}: {type(e).__name__}: {e}") from None
    hyp = module.get("HYPOTHESIS")
    if hyp is None:
        raise HarnessError(f"{path}: no HYPOTHESIS defined; add HYPOTHESIS = Hypothesis(...) "
                           "(see hypotheses/h1_content_dense.py)")
    if not isinstance(hyp, Hypothesis):
        raise HarnessError(f"{path}: HYPOTHESIS is a {type(hyp).__name__}, not a harness.spec.Hypothesis")
    try:
        hyp = hyp.replace(baseline=resolve_arm(hyp.baseline, path.parent),
                          treatment=resolve_arm(hyp.treatment, path.parent))
    except HarnessError as e:
        raise HarnessError(f"{path}: {e}") from None
    return hyp


def _source(path: Path) -> str:
    """The file's text in its declared encoding (PEP 263; UTF-8 by default); one line when it is not."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise HarnessError(f"{path}: cannot read the hypothesis file ({e.strerror or e})") from None
    cookie_error = None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as e:  # undecodable first lines, or an unknown coding cookie
        encoding, cookie_error = "utf-8", e
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise HarnessError(f"{path}:{line}: byte 0x{raw[e.start]:02x} at offset {e.start} is not valid "
                           f"{encoding}; save the file as UTF-8") from None
    if cookie_error is not None:
        raise HarnessError(f"{path}:{cookie_error.lineno or 1}: {cookie_error.msg}; remove the coding line and "
                           "save the file as UTF-8") from None
    return text


def _line(e: BaseException, path: Path) -> int | str:
    """The line of ``path`` the exception passed through last (else its innermost line, or ``?``)."""
    frames = traceback.extract_tb(e.__traceback__)
    mine = [f for f in frames if Path(f.filename) == path]
    frame = (mine or frames or [None])[-1]
    return frame.lineno if frame is not None and frame.lineno is not None else "?"


def resolve_arm(arm: Arm, base: Path) -> Arm:
    """``arm`` with relative file paths (a ``file.py:function`` kind, the arm's ``PATH_PARAMS``) made
    absolute against ``base`` (the hypothesis file's folder); its parameters checked (names, types,
    ranges). Raises a one-line HarnessError."""
    from harness.arms import registry as arms

    kind = arms.absolute_kind(arm.kind, base)
    try:
        src = arms.resolve(kind)
    except HarnessError as e:
        raise HarnessError(f"Arm {arm.name!r}: {e}") from None
    params = arm.kwargs
    for name in src.path_params:
        value = params.get(name)
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            params[name] = str((Path(base) / value).resolve())
    out = Arm(arm.name, kind, **params)
    arms.check_params(out.kind, out.kwargs, out.name)
    return out


def load_all(directory: Path | None = None) -> list[Entry]:
    """Every hypothesis file in ``directory`` (sorted), loaded or with its error."""
    directory = Path(directory or default_dir())
    if not directory.is_dir():
        raise HarnessError(f"hypotheses directory not found: {directory}; run from the project root or pass "
                           "--hypotheses DIR")
    entries = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            entries.append(Entry(path, load_file(path), None))
        except HarnessError as e:
            entries.append(Entry(path, None, str(e)))
    seen: dict[str, Path] = {}
    out = []
    for e in entries:
        if e.hypothesis is not None:
            hid = e.hypothesis.id
            if hid in seen:
                e = Entry(e.path, None, f"{e.path}: duplicate hypothesis id {hid!r} (also in {seen[hid]}); "
                                        "give each file a unique id")
            else:
                seen[hid] = e.path
        out.append(e)
    return out


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def get(hid: str, directory: Path | None = None) -> Hypothesis:
    """The hypothesis with id ``hid`` (case-insensitive); errors name the broken file or suggest ids."""
    entries = load_all(directory)
    declares = re.compile(rf"""\bid\s*=\s*["']{re.escape(hid)}["']""", re.IGNORECASE)
    for e in entries:  # a broken file named like the id (h1_*.py) or declaring it (id="H1")
        if e.error and (hid.lower() in e.path.stem.lower().split("_")[0:1] or declares.search(_text(e.path))):
            raise HarnessError(e.error)
    for e in entries:
        if e.hypothesis is not None and e.hypothesis.id.lower() == hid.lower():
            return e.hypothesis
    for e in entries:
        if e.error and "duplicate hypothesis id" in e.error and f"'{hid}'" in e.error:
            raise HarnessError(e.error)
    ids = [e.hypothesis.id for e in entries if e.hypothesis is not None]
    raise HarnessError(suggest(hid, ids, "hypothesis"))


def registered_ids(directory: Path | None) -> list[str]:
    """Ids of the hypothesis files that load (broken files are reported by ``list``, not here)."""
    try:
        return [e.hypothesis.id for e in load_all(directory) if e.hypothesis is not None]
    except HarnessError:
        return []
