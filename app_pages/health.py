"""Model health: held-out metrics against baselines, how the heads attend, the pairs it gets most wrong, and
how far to trust its explanations over the data (report card, attention vs attributions, sanity checks,
batch-explain files)."""

import streamlit as st

from attnrec import kept_results, quality_store
from attnrec.app import session, url
from attnrec.app.health_sections import batch_file_section, kept_or_run, trust_sample_section
from attnrec.app.sidebar import require_model, sidebar
from attnrec.figures.explain import (
    entropy_histograms,
    mean_attention_heatmap,
    sanity_lines,
)
from attnrec.health import (
    attention_entropy,
    attention_findings,
    attention_over_pairs,
    head_verdicts,
    held_out_split,
    mean_attention,
    sample_pairs,
    wrong_pairs,
)
from attnrec.model import rank_span
from attnrec.safety import escape_markdown
from attnrec.trust import (
    verdict_word,
)
from attnrec.trust_checks import run_sanity_checks, unchanged_at_earlier_stages

st.title("Model health")
st.caption(
    "Is the model any good on data it did not train on, do its attention heads look at anything, "
    "and where is it most wrong?"
)

selection = sidebar()
model = require_model(selection)
dataset = selection.dataset
url.write_url(item=None, user=None)


@st.cache_resource(show_spinner=False, max_entries=64)
def cached_fingerprint(model_key: str, _model) -> str:
    return quality_store.fingerprint(_model)


@st.cache_data(show_spinner="Computing attention over the sample…", max_entries=16)
def cached_attention(model_key: str, n_pairs: int, seed: int, _model, _dataset):
    pairs = sample_pairs(_dataset.interactions, n_pairs, seed)
    return attention_over_pairs(_model, pairs["user_id"], pairs["item_id"])


@st.cache_data(show_spinner="Finding the pairs the model gets most wrong…", max_entries=16)
def cached_wrong_pairs(model_key: str, k: int, _model, _dataset):
    return wrong_pairs(_model, held_out_split(_model, _dataset), k)


@st.cache_data(show_spinner=False, max_entries=8)
def cached_sanity(
    model_key: str, n_pairs: int, seed: int, level: str, baseline: str, grouping: str, methods: tuple, _model, _dataset
):
    pairs = sample_pairs(_dataset.interactions, n_pairs, seed)
    return run_sanity_checks(_model, pairs["user_id"], pairs["item_id"], level, baseline, methods, grouping=grouping)


# ---- metrics ------------------------------------------------------------------------------------------
st.subheader("Held-out ranking quality")
left, right = st.columns([1, 3])
k = left.number_input("Cut-off k", min_value=1, max_value=100, value=10, key="health_k")
mf_epochs = left.number_input(
    "BPR-MF epochs",
    min_value=1,
    max_value=200,
    value=quality_store.MF_EPOCHS,
    key="health_mf_epochs",
    help="The matrix-factorisation baseline is trained here on the same training split.",
)
# Computed once per model and settings, then read from disk (beside the checkpoint or in the cache folder,
# attnrec.quality_store): training BPR-MF on every open made this page take a minute.
model_print = cached_fingerprint(selection.model_key, model)
checkpoint_path = (session.checkpoint_index().get(selection.model_name) or {}).get("path")
quality_key = (model_print, quality_store.settings_key(int(k), int(mf_epochs)))
session_quality = st.session_state.setdefault("health_quality", {})  # also when the cache folder is read-only
quality = session_quality.get(quality_key) or quality_store.stored(
    model, int(k), int(mf_epochs), checkpoint=checkpoint_path, print_=model_print
)
if left.button(
    "Recompute" if quality else "Compute held-out quality",
    key="health_metrics_run",
    help="Evaluates the model, popularity and BPR-MF (trained here on the training split; the slow part) "
    "and keeps the table on disk for this model.",
):
    with right.status("Evaluating on held-out data (trains the BPR-MF baseline)…") as status:
        table, described = quality_store.compute(
            model, dataset, int(k), int(mf_epochs), progress=lambda name: status.update(label=f"Evaluating {name}…")
        )
        quality_store.store(model, table, described, int(k), int(mf_epochs), print_=model_print)
        quality = session_quality[quality_key] = (table, described)
        status.update(label="Held-out evaluation", state="complete")
if quality is None:
    right.info(
        f"Not computed yet for this model with k = {int(k)} and {int(mf_epochs)} BPR-MF epochs: "
        "**Compute held-out quality** trains the baseline (up to a minute) and keeps the table for next time."
    )
else:
    metrics, protocol = quality
    right.dataframe(
        metrics,
        hide_index=True,
        width="stretch",
        column_config={
            c: st.column_config.NumberColumn(c, format="%.3f") for c in metrics.columns if c not in ("model", "users")
        },
    )
    right.caption(
        f"Leave-one-out, seed {protocol['seed']}: one positive per user held out "
        f"({protocol['users']} users, chosen by {protocol['held_out_by']}), ranked against every item the "
        "user never interacted with. If this checkpoint was trained on the full data, its own numbers are "
        "optimistic; the baselines always train on the training split only."
    )

# ---- attention heads ----------------------------------------------------------------------------------
st.subheader("Attention heads over the data")
n_pairs = st.slider("Pairs sampled from the interactions", 100, 5000, 1000, step=100, key="health_pairs")
traces = cached_attention(selection.model_key, int(n_pairs), 0, model, dataset)
sides = (
    (("user", "a_u", "A_U (user side)"),)
    if model.tied
    else (("user", "a_u", "A_U (user side)"), ("item", "a_v", "A_V (item side)"))
)
if model.tied:
    st.caption("Tied model: A_V = A_U, so one picture covers both sides.")
side_verdicts = {side: head_verdicts(attention_entropy(traces[key])) for side, key, _ in sides}
findings = attention_findings(model, traces, side_verdicts)
for level, sentence in findings:
    (st.warning if level == "warning" else st.info)(sentence, icon=":material/visibility:")
for (side, key, _label), tab in zip(sides, st.tabs([label for _, _, label in sides])):
    entropy = attention_entropy(traces[key])
    verdicts = side_verdicts[side]
    flagged = verdicts[verdicts["verdict"] != "ok"]
    if len(flagged):
        lines = [
            f"- head {r.head} is **{r.verdict}** (mean normalised entropy {r.mean_entropy:.2f})"
            for r in flagged.itertuples()
        ]
        tab.warning(
            "Flagged heads — *collapsed*: nearly all weight on one dimension for every pair; *uniform*: "
            "weights so even that the head adds nothing to a plain dot product.\n" + "\n".join(lines)
        )
    tab.plotly_chart(entropy_histograms(entropy, verdicts, side=side), width="stretch", key=f"entropy_{side}")
    tab.plotly_chart(
        mean_attention_heatmap(mean_attention(traces[key]), model.dimension_names, side=side),
        width="stretch",
        key=f"mean_{side}",
    )

# ---- most wrong ---------------------------------------------------------------------------------------
st.subheader("Where the model is most wrong")
negatives, positives, source = cached_wrong_pairs(selection.model_key, 10, model, dataset)


def pair_list(title: str, frame, key: str) -> None:
    st.markdown(f"**{title}**")
    for row in frame.itertuples():
        cols = st.columns([5, 2], vertical_alignment="center")
        cols[0].write(f"user {escape_markdown(row.user_id)} · item {escape_markdown(row.item_id)}")
        cols[0].caption(f"S = {row.s:.3f} · rank {rank_span(row.rank, row.ties)} of {len(model.item_ids)}")
        if cols[1].button("Explore", key=f"{key}_{row.Index}", help="Open this pair on the Explore page"):
            st.session_state["explore_user"], st.session_state["explore_item"] = row.user_id, row.item_id
            st.switch_page("app_pages/explore.py", query_params={"user": row.user_id, "item": row.item_id})


left, right = st.columns(2)
with left:
    pair_list(f"Highest-scored negatives — {source}", negatives, "wrong_negative")
with right:
    pair_list("Lowest-scored held-out positives", positives, "wrong_positive")

# ---- trust over a sample (attnrec/app/health_sections.py) -----------------------------------------------
trust_level, trust_baseline, trust_grouping, trust_methods = trust_sample_section(
    selection, model, dataset, model_print
)

# ---- sanity checks ----------------------------------------------------------------------------------
st.subheader("Sanity checks: does each explanation depend on the model?")
st.caption(
    "Cascading randomization (Adebayo et al. 2018): re-draw the attention weights, then the encoders too, on a "
    "copy of the model, and compare each method's new explanation with the original (Spearman ρ per pair). "
    "A method whose explanation barely changes (median ρ > 0.9) reflects the input, not the model: flagged."
)
sanity_cols = st.columns([3, 2], vertical_alignment="bottom")
n_sanity = sanity_cols[0].slider("Pairs for the sanity checks", 5, 100, 20, step=5, key="health_sanity_pairs")
sanity_request = (selection.model_key, int(n_sanity), trust_level, trust_baseline, trust_grouping, tuple(trust_methods))
# Kept on disk for this model and these settings once run (attnrec.kept_results): shown at once next time.
sanity_settings = {
    "pairs": int(n_sanity),
    "seed": 0,
    "level": trust_level,
    "baseline": trust_baseline,
    "grouping": trust_grouping,
    "methods": list(trust_methods),
}
sanity_kept = kept_results.kept("sanity", model_print, sanity_settings)
if sanity_cols[1].button("Run again" if sanity_kept else "Run sanity checks (slower)", key="health_sanity_run"):
    st.session_state["health_sanity_request"] = sanity_request


def run_sanity() -> tuple[dict, dict]:
    with st.spinner("Randomizing parameters stage by stage and re-explaining…"):
        rho, verdicts = cached_sanity(
            selection.model_key,
            int(n_sanity),
            0,
            trust_level,
            trust_baseline,
            trust_grouping,
            tuple(trust_methods),
            model,
            dataset,
        )
    # What the section shows: the medians (not each pair's ρ), and the verdicts.
    return {"rho": rho.drop(columns=["spearman"], errors="ignore"), "verdicts": verdicts}, {}


requested = st.session_state.get("health_sanity_request") == sanity_request
sanity_shown = kept_or_run("sanity", model_print, sanity_settings, sanity_kept, requested, run_sanity, "Run again")
if sanity_shown is not None:
    sanity, sanity_verdicts = sanity_shown[0]["rho"], sanity_shown[0]["verdicts"]
    flagged = sanity_verdicts[sanity_verdicts["flagged"]]
    if len(flagged):
        st.warning("Barely change when the model is randomized — do not trust them here: " + ", ".join(flagged["name"]))
    else:
        st.success(
            "Every method's explanation changes when the model is randomized."
            + (
                " The attention weights themselves carry no information here (every head is uniform, "
                "see the heads above): trust the attributions, not the heatmaps."
                if any("uniform" in sentence for _, sentence in findings)
                else ""
            )
        )
    for stage, names in unchanged_at_earlier_stages(sanity).items():
        st.info(
            f"After randomizing only the {stage}, these explanations barely change (median ρ > 0.9): "
            f"{', '.join(names)}. They do not depend on the {stage}"
            + (
                " — every method, so the score itself likely barely does."
                if len(names) == len(sanity_verdicts)
                else "."
            )
        )
    st.plotly_chart(sanity_lines(sanity), width="stretch", key="health_sanity")
    shown = sanity_verdicts[["name", "stage", "spearman_median", "flagged", "verdict"]]
    st.dataframe(
        shown.assign(verdict=shown["verdict"].map(verdict_word)),
        hide_index=True,
        width="stretch",
        column_config={
            "name": "method",
            "stage": "randomized (last stage)",
            "spearman_median": st.column_config.NumberColumn("median ρ", format="%+.2f"),
        },
    )
else:
    st.caption(f"Not run yet for these settings ({n_sanity} pairs, the methods above).")

# ---- batch-explain file (attnrec/app/health_sections.py) ------------------------------------------------
batch_file_section()
