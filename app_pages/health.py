"""Model health: held-out metrics against baselines, how the heads attend, the pairs it gets most wrong, and
how far to trust its explanations over the data (report card, attention vs attributions, sanity checks,
batch-explain files)."""

import os

import streamlit as st

from attnrec import quality_store
from attnrec.app import report_card, session, url, widgets
from attnrec.app.sidebar import require_model, sidebar
from attnrec.explain import method
from attnrec.explain.batch_reader import BatchFileError, read_batch_explanations, summarize_batch
from attnrec.explain.registry import method_name
from attnrec.explain.report import DEFAULT_METHODS
from attnrec.explain.shapley import MAX_GROUPS
from attnrec.figures.explain import (
    agreement_histograms,
    attribution_boxes,
    deletion_insertion_curves,
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
from attnrec.safety import PathRefused, escape_markdown, file_in_folder
from attnrec.trust import (
    card_methods,
    card_table,
    curves_frame,
    not_shares_of_s,
    run_report_card,
    verdict_tone,
    verdict_word,
)
from attnrec.trust_checks import attention_vs_attributions, run_sanity_checks, unchanged_at_earlier_stages
from attnrec.trust_plan import trust_target

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


@st.cache_data(show_spinner=False, max_entries=16)
def cached_sample_card(
    model_key: str,
    n_pairs: int,
    seed: int,
    level: str,
    baseline: str,
    grouping: str,
    methods: tuple,
    _model,
    _dataset,
    _progress=None,
):
    pairs = sample_pairs(_dataset.interactions, n_pairs, seed)
    target = trust_target(_model, pairs["user_id"], pairs["item_id"], level, baseline, grouping)
    return run_report_card(target, methods, progress=_progress)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_sample_agreement(
    model_key: str,
    n_pairs: int,
    seed: int,
    baseline: str,
    methods: tuple,
    _model,
    _dataset,
    _attributions=None,
    _progress=None,
):
    pairs = sample_pairs(_dataset.interactions, n_pairs, seed)
    return attention_vs_attributions(
        _model, pairs["user_id"], pairs["item_id"], baseline, methods, attributions=_attributions, progress=_progress
    )


@st.cache_data(show_spinner=False, max_entries=8)
def cached_sanity(
    model_key: str, n_pairs: int, seed: int, level: str, baseline: str, grouping: str, methods: tuple, _model, _dataset
):
    pairs = sample_pairs(_dataset.interactions, n_pairs, seed)
    return run_sanity_checks(_model, pairs["user_id"], pairs["item_id"], level, baseline, methods, grouping=grouping)


@st.cache_data(show_spinner="Reading the Parquet file…", max_entries=8)
def cached_batch_file(data: bytes | None, path: str | None, stamp: tuple | None = None):
    """(frame, summary) of a batch-explain output; `stamp` (mtime, size) re-reads a changed file."""
    frame = read_batch_explanations(data if data is not None else path)
    return frame, summarize_batch(frame)


def show_verdict(text: str, prefix: str = "") -> None:
    {"success": st.success, "info": st.info, "warning": st.warning}[verdict_tone(text)](prefix + text)


# ---- metrics ------------------------------------------------------------------------------------------
st.subheader("Held-out ranking quality")
left, right = st.columns([1, 3])
k = left.number_input("Cut-off k", min_value=1, max_value=100, value=10, key="health_k")
mf_epochs = left.number_input(
    "BPR-MF epochs",
    min_value=1,
    max_value=200,
    value=60,
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
        cols[0].caption(f"S = {row.s:.3f} · rank {row.rank} of {len(model.item_ids)}")
        if cols[1].button("Explore", key=f"{key}_{row.Index}", help="Open this pair on the Explore page"):
            st.session_state["explore_user"], st.session_state["explore_item"] = row.user_id, row.item_id
            st.switch_page("app_pages/explore.py", query_params={"user": row.user_id, "item": row.item_id})


left, right = st.columns(2)
with left:
    pair_list(f"Highest-scored negatives — {source}", negatives, "wrong_negative")
with right:
    pair_list("Lowest-scored held-out positives", positives, "wrong_positive")


# ---- trust over a sample ------------------------------------------------------------------------------
st.subheader("How far to trust the explanations, over a sample")
st.caption(
    "The trust report card of Attributions, over pairs drawn from the interactions: medians over the sample, "
    "verdicts from them, mean deletion / insertion curves."
)
LEVELS = {"dimensions": "dimensions of X and Y", "fields": "raw fields"}
controls = st.columns([3, 2, 3])
# Past 16 groups the reference is sampled Shapley (200 permutations per pair): a wide model starts from fewer pairs.
wide = model.d > MAX_GROUPS
n_trust = controls[0].slider(
    "Pairs sampled",
    10,
    500,
    20 if wide else 40,
    step=10,
    key="health_trust_pairs",
    help="More pairs: steadier medians, slower (Captum's sensitivity re-runs every method"
    + (f"; with {model.d} dimensions the reference is sampled, so this model starts from 20 pairs" if wide else "")
    + ").",
)
trust_level = controls[1].radio("Attribute to", list(LEVELS), format_func=LEVELS.get, key="health_trust_level")
trust_baseline = widgets.baseline_radio(controls[2], model, "health_trust_baseline")
available = widgets.attribution_methods(trust_level)
# A wide model starts from the quick methods (each method is re-run for Captum's sensitivity); add others here.
QUICK = ("ig", "saliency", "input_x_gradient", "feature_ablation", "attention")
trust_methods = st.multiselect(
    "Methods",
    available,
    default=[k for k in DEFAULT_METHODS if k in available and (not wide or k in QUICK)],
    format_func=lambda k: method(k).name,
    key=f"health_trust_methods_{trust_level}",
)
trust_grouping, trust_plan = report_card.card_plan(model, trust_level, f"health_trust_grouping_{trust_level}")
card_keys = tuple(card_methods(trust_level, trust_methods, trust_plan.key, trust_plan.n_groups))
# The card re-runs every method per pair (and Captum's sensitivity re-runs them again): tens of seconds, on request.
trust_request = (selection.model_key, int(n_trust), trust_level, trust_baseline, trust_grouping, card_keys)
if st.button(f"Run the report card over {n_trust} pairs (slower)", key="health_trust_run"):
    st.session_state["health_trust_request"] = trust_request
if st.session_state.get("health_trust_request") != trust_request:
    st.caption(
        f"Not run yet for these settings ({n_trust} pairs, the methods above). The card and whether attention "
        "tells the same story appear here once it has run; results are kept for the session."
    )
else:
    with st.status(f"Report card over {n_trust} pairs…") as trust_status:
        trust_progress = report_card.status_progress(trust_status)
        sample_card = cached_sample_card(
            selection.model_key,
            int(n_trust),
            0,
            trust_level,
            trust_baseline,
            trust_grouping,
            card_keys,
            model,
            dataset,
            trust_progress,
        )
        reuse = sample_card.attributions if trust_level == "dimensions" and trust_grouping == "level" else None
        sample_agreement = cached_sample_agreement(
            selection.model_key,
            int(n_trust),
            0,
            trust_baseline,
            tuple(k for k in trust_methods if "dimensions" in method(k).levels),
            model,
            dataset,
            reuse,
            trust_progress,
        )
        trust_status.update(
            label=f"Report card and attention agreement over {n_trust} pairs", state="complete", expanded=False
        )
    sample_table = card_table(sample_card)
    report_card.report_card_view(
        sample_table,
        f"Medians over the {n_trust} pairs (top-k overlap: mean, k = {sample_card.k}). "
        "Row 1 is the reference; the best other method per column is tinted. " + not_shares_of_s(card_keys),
    )
    st.plotly_chart(
        deletion_insertion_curves(curves_frame(sample_card), title="Mean deletion and insertion curves"),
        width="stretch",
        key="health_curves",
    )

    st.subheader("Does attention tell the same story?")
    st.caption(
        "Per pair, Kendall τ between attention weights and each method's dimension importance "
        "(at the dimension level, where attention weights live)."
    )
    show_verdict(sample_agreement.headline, f"**Verdict (vs {method(sample_agreement.reference).name}):** ")
    st.plotly_chart(agreement_histograms(sample_agreement.per_pair), width="stretch", key="health_agreement")
    st.dataframe(
        sample_agreement.summary.assign(verdict=sample_agreement.summary["verdict"].map(verdict_word)),
        hide_index=True,
        width="stretch",
        column_config={
            "median_tau": st.column_config.NumberColumn("median τ", format="%+.2f"),
            "q25_tau": st.column_config.NumberColumn("25%", format="%+.2f"),
            "q75_tau": st.column_config.NumberColumn("75%", format="%+.2f"),
            "share_tau_at_least_0.5": st.column_config.NumberColumn("τ ≥ 0.5", format="percent"),
            "verdict": st.column_config.TextColumn("reading"),
        },
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
if sanity_cols[1].button("Run sanity checks (slower)", key="health_sanity_run"):
    st.session_state["health_sanity_request"] = sanity_request
if st.session_state.get("health_sanity_request") == sanity_request:
    with st.spinner("Randomizing parameters stage by stage and re-explaining…"):
        sanity, sanity_verdicts = cached_sanity(
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

# ---- batch-explain file ------------------------------------------------------------------------------
st.subheader("Batch explanations from a file")
st.caption(
    "The Parquet output of `python -m attnrec explain --checkpoint … --pairs pairs.csv --out out.parquet`: "
    "one row per pair × method × group. Read with pyarrow; nothing in it is executed."
)
source = st.columns(2)
uploaded = source[0].file_uploader("Upload a Parquet file", type=["parquet"], key="health_batch_upload")
# Reading files on the server is off unless the operator names one folder (ATTNREC_BATCH_DIR): a browser
# user must not be able to probe the server's file system.
batch_folder = os.environ.get("ATTNREC_BATCH_DIR")
path = ""
if batch_folder and os.path.isdir(batch_folder):
    path = (
        source[1]
        .text_input(
            "…or a .parquet file in the server's batch folder",
            key="health_batch_path",
            placeholder="explanations.parquet",
        )
        .strip()
    )
batch = None
if uploaded is not None or path:
    try:
        if uploaded is not None:
            batch = cached_batch_file(uploaded.getvalue(), None)
        else:
            found = file_in_folder(batch_folder, path)
            stat = found.stat()
            batch = cached_batch_file(None, str(found), (stat.st_mtime, stat.st_size))
    except (BatchFileError, PathRefused) as error:
        shown = uploaded.name if uploaded is not None else path
        st.error(f"Could not use “{escape_markdown(shown)}”: {escape_markdown(error)}")
if batch is not None:
    frame, summary = batch
    info = summary.overview
    numbers = st.columns(4)
    numbers[0].metric("pairs", f"{info['pairs']:,}")
    numbers[1].metric("methods", len(info["methods"]))
    numbers[2].metric("groups", info["groups"])
    numbers[3].metric("rows", f"{info['rows']:,}")
    st.caption(f"Level: {', '.join(info['levels'])} · baseline: {', '.join(info['baselines'])}")
    st.dataframe(
        summary.per_method.drop(columns=["key", "groups"]),
        hide_index=True,
        width="stretch",
        column_config={
            "median relative gap": st.column_config.NumberColumn("median rel. gap", format="percent"),
            "share within 5%": st.column_config.NumberColumn("gap ≤ 5%", format="percent"),
            "most often first": "most often 1st",
            "share first": st.column_config.NumberColumn("share 1st", format="percent"),
            "median |completeness gap|": st.column_config.NumberColumn("median |gap|", format="%.2e"),
            "median |convergence delta|": st.column_config.NumberColumn("median |Captum δ|", format="%.2e"),
        },
    )
    picked = st.selectbox("Method", info["methods"], format_func=method_name, key="health_batch_method")
    left, right = st.columns(2)
    left.plotly_chart(
        attribution_boxes(frame[frame["method"] == picked][["group", "attribution"]], title="Spread over the pairs"),
        width="stretch",
        key="health_batch_boxes",
    )
    tops = summary.top_groups[summary.top_groups["method"] == picked].drop(
        columns=["method", "name", "mean_attribution"]
    )
    right.dataframe(
        tops.head(15),
        hide_index=True,
        width="stretch",
        column_config={
            "mean_abs_attribution": st.column_config.NumberColumn("mean |attr|", format="%.3g"),
            "share_ranked_first": st.column_config.NumberColumn("ranked 1st", format="percent"),
            "share_in_top_3": st.column_config.NumberColumn("in top 3", format="percent"),
        },
    )
    if summary.agreement is not None:
        st.plotly_chart(
            agreement_histograms(summary.agreement, title="Attention vs each method in the file"),
            width="stretch",
            key="health_batch_agreement",
        )
