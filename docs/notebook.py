# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # A hypothesis in a notebook
#
# State a hypothesis, run it on the offline synthetic VK-LSVD-layout data with a few seeds, look at the
# decision cells and at the per-user deltas of the dense segment. Open it in Jupyter with jupytext
# (`pip install jupytext`, then open as a notebook), or run it as a script: `python docs/notebook.py`
# (tests/test_api.py runs it that way).

# %%
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # a script has no display; in Jupyter the figure shows inline anyway
import matplotlib.pyplot as plt  # noqa: E402

import harness  # noqa: E402
from harness import Arm, Decision, Hypothesis, Segment  # noqa: E402

hyp = Hypothesis(
    id="HNB", claim="ALS beats popularity on NDCG@10 for the most active 30 % of users",
    dataset="synthetic-vk", positives=["watch_ratio>=0.5"],
    baseline=Arm("popularity", "popularity"), treatment=Arm("als", "als", factors=32, iterations=10),
    segments=[Segment.activity_quantile(0.7, name="dense"), Segment.all()],
    metrics=["ndcg@10", "recall@10"], primary="ndcg@10", seeds=range(3),
    decision=Decision.better(margin=0.0))

# results_dir=None: nothing is written but the generated data and the task cache (.cache/harness)
r = harness.run(hyp, results_dir=None, quiet=True)
print(r.verdict)
for w in r.warnings:
    print("warning:", w)

# %% [markdown]
# One row per (positive definition, segment, metric): the delta, its seed x user interval, raw and
# Holm-adjusted p-values, effect sizes and the minimum detectable effect; `status` on the decision cell.

# %%
cols = ["positives", "segment", "metric", "delta", "ci_low", "ci_high", "p", "p_adjusted", "cohens_dz", "mde",
        "n_users", "status"]
print(r.cells[cols].to_string(index=False))

# %%
print(r.arms.to_string(index=False))

# %% [markdown]
# The per-user delta (treatment - baseline) in the dense segment, one value per (seed, user): the
# interval above is about its mean; the spike at 0 is users both arms miss.

# %%
pu = r.per_user
dense = pu[pu["seg_dense"]]
wide = dense.pivot_table(index=["seed", "user_id"], columns="arm", values="ndcg@10")
delta = wide["als"] - wide["popularity"]
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.hist(delta, bins=41, color="#4c72b0")
ax.axvline(delta.mean(), color="black", lw=1, label=f"mean {delta.mean():+.4f}")
ax.set_xlabel("ndcg@10: als - popularity (dense users, every seed)")
ax.set_ylabel("users x seeds")
ax.legend()
fig.tight_layout()
out = Path("notebook-figures")
out.mkdir(exist_ok=True)
fig.savefig(out / "dense_delta.png", dpi=100)
print(f"{len(delta)} (seed, user) deltas, {(delta == 0).mean():.0%} exactly 0; figure: {out / 'dense_delta.png'}")
