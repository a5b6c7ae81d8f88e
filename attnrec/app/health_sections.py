"""Two sections of the Model health page (app_pages/health.py), each drawn by one function: the trust report
card over a sample of pairs (with attention vs attributions), and batch explanations read from a Parquet file."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import cast

import streamlit as st

from attnrec import kept_results
from attnrec.app import report_card, widgets
from attnrec.explain import method
from attnrec.explain.batch_reader import BatchFileError, read_batch_explanations, summarize_batch
from attnrec.explain.registry import method_name
from attnrec.explain.report import DEFAULT_METHODS
from attnrec.explain.shapley import MAX_GROUPS
from attnrec.figures.explain import agreement_histograms, attribution_boxes, deletion_insertion_curves
from attnrec.health import sample_pairs
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
from attnrec.trust_checks import attention_vs_attributions
from attnrec.trust_plan import trust_target


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


@st.cache_data(show_spinner="Reading the Parquet file…", max_entries=8)
def cached_batch_file(data: bytes | None, path: str | None, stamp: tuple | None = None):
    """(frame, summary) of a batch-explain output; `stamp` (mtime, size) re-reads a changed file."""
    frame = read_batch_explanations(data if data is not None else cast(str, path))
    return frame, summarize_batch(frame)


def show_verdict(text: str, prefix: str = "") -> None:
    {"success": st.success, "info": st.info, "warning": st.warning}[verdict_tone(text)](prefix + text)


def kept_or_run(
    kind: str,
    model_print: str,
    settings: dict,
    stored: tuple[dict, dict] | None,
    requested: bool,
    run: Callable[[], tuple[dict, dict]],
    again: str,
) -> tuple[dict, dict] | None:
    """A slow section's (frames, values): computed now when its button asked for these settings (and kept on disk
    the first time, `attnrec.kept_results`), else what an earlier run kept (`stored`, read before the button was
    drawn: it names the button `again`), said so; None when neither."""
    if requested:
        frames, values = run()
        if stored is None:
            kept_results.keep(kind, model_print, settings, frames, values)
        return frames, values
    if stored is not None:
        st.caption(
            "Kept from an earlier run of these settings on this model (the same numbers a new run gives); "
            f"**{again}** recomputes it."
        )
    return stored


def trust_sample_section(selection, model, dataset, model_print: str) -> tuple[str, str, str, list]:
    """How far to trust the explanations, over a sample: settings, then (on request) the report card and whether
    attention tells the same story. Returns the settings the sanity checks reuse: (level, baseline, grouping,
    methods)."""
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
    # The card re-runs every method per pair (and Captum's sensitivity re-runs them again): tens of seconds, on request;
    # then kept on disk for this model and these settings (attnrec.kept_results), so it shows at once next time.
    agreement_keys = tuple(k for k in trust_methods if "dimensions" in method(k).levels)
    settings = {
        "pairs": int(n_trust),
        "seed": 0,
        "level": trust_level,
        "baseline": trust_baseline,
        "grouping": trust_grouping,
        "methods": list(card_keys),
        "agreement_methods": list(agreement_keys),
    }
    stored = kept_results.kept("trust", model_print, settings)
    trust_request = (selection.model_key, int(n_trust), trust_level, trust_baseline, trust_grouping, card_keys)
    label = "Run it again" if stored else f"Run the report card over {n_trust} pairs (slower)"
    if st.button(label, key="health_trust_run"):
        st.session_state["health_trust_request"] = trust_request

    def run() -> tuple[dict, dict]:
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
                agreement_keys,
                model,
                dataset,
                reuse,
                trust_progress,
            )
            trust_status.update(
                label=f"Report card and attention agreement over {n_trust} pairs", state="complete", expanded=False
            )
        frames = {
            "card": card_table(sample_card),
            "curves": curves_frame(sample_card),
            "per_pair": sample_agreement.per_pair,
            "summary": sample_agreement.summary,
        }
        return frames, {
            "k": int(sample_card.k),
            "headline": sample_agreement.headline,
            "reference": sample_agreement.reference,
        }

    shown = kept_or_run(
        "trust",
        model_print,
        settings,
        stored,
        st.session_state.get("health_trust_request") == trust_request,
        run,
        "Run it again",
    )
    if shown is None:
        st.caption(
            f"Not run yet for these settings ({n_trust} pairs, the methods above). The card and whether attention "
            "tells the same story appear here once it has run; results are kept for this model."
        )
        return trust_level, trust_baseline, trust_grouping, trust_methods
    frames, values = shown
    report_card.report_card_view(
        frames["card"],
        f"Medians over the {n_trust} pairs (top-k overlap: mean, k = {values['k']}). "
        "Row 1 is the reference; the best other method per column is tinted. " + not_shares_of_s(card_keys),
    )
    st.plotly_chart(
        deletion_insertion_curves(frames["curves"], title="Mean deletion and insertion curves"),
        width="stretch",
        key="health_curves",
    )

    st.subheader("Does attention tell the same story?")
    st.caption(
        "Per pair, Kendall τ between attention weights and each method's dimension importance "
        "(at the dimension level, where attention weights live)."
    )
    show_verdict(values["headline"], f"**Verdict (vs {method(values['reference']).name}):** ")
    st.plotly_chart(agreement_histograms(frames["per_pair"]), width="stretch", key="health_agreement")
    summary = frames["summary"]
    st.dataframe(
        summary.assign(verdict=summary["verdict"].map(verdict_word)),
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
    return trust_level, trust_baseline, trust_grouping, trust_methods


def batch_file_section() -> None:
    """Batch explanations from a file: an uploaded Parquet file, or one in the operator's ATTNREC_BATCH_DIR."""
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
                found = file_in_folder(cast(str, batch_folder), path)  # set: `path` is only asked for then
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
            attribution_boxes(
                frame[frame["method"] == picked][["group", "attribution"]], title="Spread over the pairs"
            ),
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
