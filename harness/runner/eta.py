"""The time a run has left, from the durations of the tasks finished so far, per arm (arms differ
by orders of magnitude: popularity takes a second, a tuned LightFM minutes)."""
from __future__ import annotations

from typing import Mapping, Sequence


def eta_seconds(finished: Mapping[str, Sequence[float]], remaining: Mapping[str, int], workers: int) -> float | None:
    """Seconds left: each remaining task takes the mean duration of its arm's finished tasks (the mean
    over every finished task for an arm with none yet), the total spread over ``min(workers, tasks
    left)`` workers. ``finished``: arm -> seconds of its trained tasks (cached ones excluded: reading
    the cache says nothing about training); ``remaining``: arm -> tasks not finished. None when no
    task was trained yet (nothing to base it on); 0 when nothing remains."""
    left = {arm: n for arm, n in remaining.items() if n > 0}
    if not left:
        return 0.0
    every = [s for secs in finished.values() for s in secs]
    if not every:
        return None
    overall = sum(every) / len(every)
    work = sum(n * (sum(finished[a]) / len(finished[a]) if finished.get(a) else overall) for a, n in left.items())
    return work / max(1, min(int(workers), sum(left.values())))


def eta_text(seconds: float | None) -> str:
    """``~08:32 left``, ``~1:02:03 left``; ``ETA after the first trained task`` for None."""
    if seconds is None:
        return "ETA after the first trained task"
    return f"~{clock(seconds)} left"


def clock(seconds: float) -> str:
    """``08:32``, ``1:02:03`` (hours only when there are any)."""
    h, rest = divmod(int(round(seconds)), 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m:02d}:{sec:02d}"
