"""What a run shows while it works: the progress bar on stderr and the log file (never in results/,
which holds only complete run folders)."""
from __future__ import annotations

import logging
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Sequence

from harness.runner import eta, tasks as runner
from harness.errors import HarnessError
from harness.spec import Hypothesis


def progress_bar(total: int, quiet: bool, desc: str, arms: list[str] | None = None, workers: int = 1):
    """A tqdm bar on stderr (disabled when quiet) and a callback advancing it per finished task, in the
    order tasks finish. ``arms``: the arm of every task (so the time left is estimated per arm:
    :func:`harness.runner.eta.eta_seconds` over ``workers`` workers); tqdm's own estimate, a mean rate
    over tasks of every arm, is not shown."""
    from collections import Counter

    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, disable=quiet, file=sys.stderr, unit="task",
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]")
    remaining = Counter(arms or ["?"] * total)
    finished: dict[str, list[float]] = {}
    done = [0]

    def tick(r: runner.TaskResult) -> None:
        arm = r.task.arm.name if arms else "?"
        remaining[arm] -= 1
        done[0] += 1
        if not r.cached and not r.error:
            finished.setdefault(arm, []).append(r.seconds)
        left = eta.eta_text(eta.eta_seconds(finished, remaining, workers))
        bar.set_postfix_str(f"{r.task.arm.name} s{r.task.seed}{' (cached)' if r.cached else ''}; {left}",
                            refresh=False)
        bar.update(1)
        logging.getLogger("harness.runner.monitor").info("%d of %d tasks finished (%s%s); %s", done[0], total,
                                                         r.task.label(), ", cached" if r.cached else "", left)

    return bar, tick


def open_log(directory: Path, hyp_id: str) -> tuple[Path, logging.Handler]:
    """Attach a file handler for the ``harness`` loggers; returns its path and the handler."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{hyp_id}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("harness")
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    return path, handler


@contextmanager
def watch(hyp: Hypothesis, n_tasks: int, *, quiet: bool, log_dir: Path | None, n_jobs: int, backend: str,
          arms: list[str] | None = None,
          plan: Sequence[str] = ()) -> Iterator[tuple[Callable[[runner.TaskResult], None], Path | None]]:
    """Show a run's progress while inside: yields the progress callback and the log file's path (None
    with ``log_dir=None``: no log file is written; ``arms``: each task's arm, for the time left). The
    ``plan`` lines (:func:`harness.runner.plan.render`) come first, on stderr (unless ``quiet``) and in the
    log. A :class:`HarnessError` raised inside names the log file; on the way out the bar is closed and the
    log file detached."""
    if not quiet:
        for line in plan:
            print(line, file=sys.stderr)
    bar, tick = progress_bar(n_tasks, quiet, f"{hyp.id} on {hyp.dataset}", arms, n_jobs)
    log_path, handler = open_log(log_dir, hyp.id) if log_dir is not None else (None, logging.NullHandler())
    logging.getLogger("harness").info("run %s on %s: %d tasks, n_jobs=%d, backend=%s", hyp.id, hyp.dataset,
                                      n_tasks, n_jobs, backend)
    for line in plan:
        logging.getLogger("harness.runner.plan").info("%s", line)
    try:
        yield tick, log_path
    except HarnessError as e:
        raise HarnessError(f"{e} (log: {log_path})" if log_path is not None else str(e)) from None
    finally:
        bar.close()
        logging.getLogger("harness").removeHandler(handler)
        handler.close()
