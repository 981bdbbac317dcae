"""Reading a run folder's files back (``summary.json``, ``per_user.parquet``) for ``show``, ``gate``,
``diff`` and ``index``: anything unreadable, truncated or of the wrong shape is one :class:`HarnessError`
naming the file and the fix, never a traceback."""
from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pandas as pd

from harness.errors import HarnessError
from harness.outputs.summary import migrate

SCHEMA = Path(__file__).resolve().parent.parent / "schema" / "summary.schema.json"
#: Columns every per_user.parquet has (the per-user table of :func:`harness.runner.tasks.per_user_table`).
PER_USER_COLUMNS = ("variant", "arm", "seed", "user_index")
_REWRITE = "re-run the hypothesis (python -m harness run) to write it again"


@cache
def _required() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(top-level field, its required sub-fields) as the packaged schema declares them."""
    schema = json.loads(SCHEMA.read_text())
    props = schema.get("properties", {})
    return tuple((k, tuple(props.get(k, {}).get("required", ()))) for k in schema["required"])


def read_summary(path: Path) -> dict:
    """``path`` (a run's summary.json) parsed, checked against the schema's required fields and migrated."""
    path = Path(path)
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as e:
        raise HarnessError(f"{path}: cannot be read ({e.strerror or e}); {_REWRITE}") from None
    except UnicodeDecodeError as e:
        raise HarnessError(f"{path}: not a text file (byte 0x{e.object[e.start]:02x} at offset {e.start}); "
                           f"{_REWRITE}") from None
    except json.JSONDecodeError as e:
        raise HarnessError(f"{path}: not valid JSON ({e.msg} at line {e.lineno}); use a summary.json written by "
                           "python -m harness run") from None
    if not isinstance(doc, dict):
        raise HarnessError(f"{path}: holds a JSON {type(doc).__name__}, not a summary object; {_REWRITE}")
    doc = migrate(doc)
    for field, sub in _required():
        if field not in doc:
            raise HarnessError(f"{path}: lacks field {field!r} (truncated or edited?); {_REWRITE}")
        if sub and (not isinstance(doc[field], dict) or any(s not in doc[field] for s in sub)):
            missing = sub if not isinstance(doc[field], dict) else [s for s in sub if s not in doc[field]]
            raise HarnessError(f"{path}: field {field!r} lacks {', '.join(map(repr, missing))}; {_REWRITE}")
    if not isinstance(doc["cells"], list) or not all(isinstance(c, dict) for c in doc["cells"]):
        raise HarnessError(f"{path}: field 'cells' is not a list of cells; {_REWRITE}")
    return doc


def read_per_user(path: Path) -> pd.DataFrame:
    """``path`` (a run's per_user.parquet) as a frame with at least :data:`PER_USER_COLUMNS`."""
    import pyarrow as pa

    path = Path(path)
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError, pa.ArrowException) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        first = re.sub(r"^Could not open Parquet input source '.*?': ", "", first)
        raise HarnessError(f"{path}: not a readable parquet file ({first}); {_REWRITE}") from None
    missing = [c for c in PER_USER_COLUMNS if c not in frame.columns]
    if missing:
        raise HarnessError(f"{path}: lacks column(s) {', '.join(missing)}; not a per-user table written by "
                           f"python -m harness run: {_REWRITE}")
    return frame


def rendering_error(path: Path, e: Exception) -> HarnessError:
    """The one-line error for a summary.json that passed :func:`read_summary` but whose contents do not
    have the shape the report needs (a field of the wrong type or a missing nested key)."""
    what = f"lacks field {e}" if isinstance(e, KeyError) else f"{type(e).__name__}: {e}"
    return HarnessError(f"{path}: has an unexpected shape ({what}); {_REWRITE}")
