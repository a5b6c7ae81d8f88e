"""Attributions: every attribution method that applies, side by side, with the checks that say how far
to trust each one (the trust report card, and whether attention tells the same story). Widgets come from
the method registry (attnrec.explain.METHODS), never per method."""

import json

import streamlit as st

from attnrec.app import report_card, url, widgets
from attnrec.app.sidebar import require_model, sidebar
from attnrec.explain import explain, method
from attnrec.explain.model_targets import pair_target
from attnrec.figures.explain import (
    attribution_bars,
    attribution_heatmap,
    deletion_insertion_curves,
    rank_agreement_matrix,
)
from attnrec.health import method_summary, rank_agreement, side_by_side
from attnrec.safety import escape_markdown, safe_csv_bytes, safe_filename
from attnrec.trust import card_methods, card_table, curves_frame, not_shares_of_s, run_report_card, verdict_tone
from attnrec.trust_checks import attention_vs_attributions
from attnrec.trust_plan import trust_target

st.title("Attributions")
st.caption(
    "How much each input moves S for one user–item pair, by every attribution method that applies, "
    "and whether the methods agree."
)

selection = sidebar()
model = require_model(selection)

LEVELS = {"fields": "raw fields (user and item attributes)", "dimensions": "the d dimensions of X and Y"}


@st.cache_data(show_spinner=False, max_entries=256)
def cached_attribution(
    model_key: str, user_id: str, item_id: str, level: str, baseline: str, method_key: str, params_json: str, _model
):
    target = pair_target(_model, user_id, item_id, level, baseline)
    return explain(target, method_key, json.loads(params_json))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_card(
    model_key: str,
    user_id: str,
    item_id: str,
    level: str,
    baseline: str,
    grouping: str,
    methods: tuple,
    params_json: str,
    _model,
    _progress=None,
):
    target = trust_target(_model, [user_id], [item_id], level, baseline, grouping)
    return run_report_card(target, methods, json.loads(params_json), progress=_progress)


@st.cache_data(show_spinner=False, max_entries=64)
def cached_agreement(
    model_key: str,
    user_id: str,
    item_id: str,
    baseline: str,
    methods: tuple,
    params_json: str,
    _model,
    _attributions=None,
):
    return attention_vs_attributions(
        _model, [user_id], [item_id], baseline, methods, json.loads(params_json), attributions=_attributions
    )


dataset = model.dataset
pair = st.columns(2)
user_id = url.choice(
    st.selectbox, "User", model.user_ids, "explore_user", "user", model.user_ids[0], "user", container=pair[0]
)
item_id = url.choice(
    st.selectbox,
    "Item",
    model.item_ids,
    "explore_item",
    "item",
    model.item_ids[0],
    "item",
    container=pair[1],
    format_func=dataset.item_label,  # the name beside the id: what people know an item by
)
options = st.columns([2, 3])
level = options[0].radio("Attribute to", list(LEVELS), format_func=LEVELS.get, key="attributions_level")
baseline = widgets.baseline_radio(
    options[1], model, "attributions_baseline", help="What “absent” means: attributions explain S − S(baseline)."
)

available = widgets.attribution_methods(level)
focus = url.choice(
    st.selectbox,
    "Main method",
    available,
    "explore_method",
    "method",
    "ig",
    "attribution method",
    format_func=lambda k: method(k).name,
)
st.caption(method(focus).description)
others = st.multiselect(
    "Compare with",
    [k for k in available if k != focus],
    format_func=lambda k: method(k).name,
    default=[
        k for k in ("saliency", "input_x_gradient", "feature_ablation", "attention") if k in available and k != focus
    ],
    key=f"attributions_compare_{level}",
)
chosen = [focus] + others
params = {}
with st.expander("Method settings (from the registry)"):
    tabs = st.tabs([method(k).name for k in chosen])
    for key, tab in zip(chosen, tabs):
        params[key] = widgets.param_widgets(key, "attributions", container=tab)
url.write_url(user=user_id, item=item_id, method=focus)

results, failures = {}, {}
with st.status(f"Running {len(chosen)} attribution method(s)…", expanded=False) as status:
    for key in chosen:
        status.update(label=f"Running {method(key).name}…")
        try:
            results[method(key).name] = cached_attribution(
                selection.model_key,
                user_id,
                item_id,
                level,
                baseline,
                key,
                json.dumps(params[key], sort_keys=True),
                model,
            )
        except ValueError as error:  # a method that cannot run here (too many groups for exact Shapley, …)
            failures[method(key).name] = str(error)
    status.update(
        label=escape_markdown(f"{len(results)} method(s) for user {user_id} · item {dataset.item_label(item_id)}"),
        state="complete",
    )
for name, message in failures.items():
    st.warning(f"{name}: {escape_markdown(message)}")
if not results:
    st.stop()

main_name = method(focus).name
main = results.get(main_name) or next(iter(results.values()))
frame = side_by_side(results)
summary = method_summary(results)
s, s_base = float(main.s[0]), float(main.s_baseline[0])
metrics = st.columns(4)
metrics[0].metric("S", f"{s:.4f}")
metrics[1].metric("S(baseline)", f"{s_base:.4f}")
metrics[2].metric(f"Σ {main_name}", f"{main.groups[0].sum():.4f}")
metrics[3].metric(
    "completeness gap",
    f"{main.completeness_gap[0]:+.2e}",
    help="Σ attributions − (S − S(baseline)); 0 means the attributions add up exactly.",
)

left, right = st.columns([2, 3])
left.plotly_chart(attribution_bars(frame[main_name], title=main_name), width="stretch", key="attributions_main")
right.plotly_chart(attribution_heatmap(frame), width="stretch", key="attributions_heatmap")

st.subheader("Does each method add up?")
st.dataframe(
    summary,
    hide_index=True,
    width="stretch",
    column_config={
        c: st.column_config.NumberColumn(c, format="%.3e") for c in ("completeness gap", "convergence delta")
    },
)
if len(frame.columns) > 1:
    st.subheader("Do the methods agree?")
    st.plotly_chart(rank_agreement_matrix(rank_agreement(frame)), width="stretch", key="attributions_agreement")

# ---- trust report card -------------------------------------------------------------------------------
st.subheader("Trust report card")
st.caption(
    "Each method (and attention read as an importance score) against the reference Shapley values for this "
    "pair: error, rank agreement, whether it adds up, Captum's infidelity and sensitivity, and the "
    "deletion / insertion test, where the model itself scores the ranking."
)
grouping, plan = report_card.card_plan(model, level, f"attributions_card_grouping_{level}")
# The card and the agreement score every method against a reference Shapley (sampled past 16 groups) and re-run
# them for Captum's sensitivity: seconds per pair. The attributions above stay quick; these run when switched on.
card_on = st.toggle(
    "Score the methods for this pair (report card and attention agreement; slower)", key="attributions_card_on"
)
if not card_on:
    st.caption("Off: switch it on to score the methods against the reference; it then runs for every pair you pick.")
else:
    card_keys = card_methods(level, chosen, plan.key, plan.n_groups)
    card_params = json.dumps({k: params[k] for k in card_keys if k in params}, sort_keys=True)
    with st.status("Scoring the methods…", expanded=False) as card_status:
        card = cached_card(
            selection.model_key,
            user_id,
            item_id,
            level,
            baseline,
            grouping,
            tuple(card_keys),
            card_params,
            model,
            report_card.status_progress(card_status),
        )
        card_status.update(
            label=f"Report card: {len(card.summary)} method(s) against {method(card.reference).name}", state="complete"
        )
    table = card_table(card)
    by_verdict = {
        word: [r.method for r in table.itertuples() if r.verdict == word and r.Index > 0]
        for word in ("faithful", "approximate", "unfaithful")
    }
    st.markdown("  \n".join(f"**{word}**: {', '.join(names)}" for word, names in by_verdict.items() if names))
    report_card.report_card_view(
        table,
        "Row 1 is the reference itself; the best other method per column is tinted. "
        f"k = {card.k}. " + not_shares_of_s(card_keys),
    )
    st.plotly_chart(deletion_insertion_curves(curves_frame(card)), width="stretch", key="attributions_curves")

    # ---- attention vs attributions ------------------------------------------------------------------------
    st.subheader("Does attention tell the same story?")
    st.caption(
        "Kendall τ between the attention weights (mean over heads of A_U and A_V per dimension) and each "
        "method's importance |attr(X_i) + attr(Y_i)|. Attention weights exist per dimension only, so this "
        "comparison is made at the dimension level whatever the level above."
    )
    reuse = card.attributions if level == "dimensions" and grouping == "level" else None
    agreement = cached_agreement(
        selection.model_key,
        user_id,
        item_id,
        baseline,
        tuple(k for k in chosen if "dimensions" in method(k).levels),
        json.dumps(params, sort_keys=True),
        model,
        reuse,
    )
    tone = verdict_tone(agreement.headline)
    {"success": st.success, "info": st.info, "warning": st.warning}[tone](
        f"**Verdict (vs {method(agreement.reference).name}):** {agreement.headline}"
    )
    st.dataframe(
        agreement.per_pair[["method", "kendall_tau", "reading"]],
        hide_index=True,
        width="stretch",
        column_config={
            "kendall_tau": st.column_config.NumberColumn("Kendall τ with attention", format="%+.2f"),
            "reading": st.column_config.TextColumn("reading"),
        },
    )

downloads = st.columns(2)
export = {
    "user_id": user_id,
    "item_id": item_id,
    "level": level,
    "baseline": baseline,
    "s": s,
    "s_baseline": s_base,
    "params": {method(k).name: params[k] for k in chosen},
    "attributions": {name: dict(zip(frame.index, frame[name].tolist())) for name in frame.columns},
    "summary": json.loads(summary.to_json(orient="records")),
}
stem = safe_filename(f"attributions_{user_id}_{item_id}", default="attributions")
downloads[0].download_button(
    "Download (JSON)",
    json.dumps(export, indent=2).encode("utf-8"),
    file_name=f"{stem}.json",
    mime="application/json",
    key="attributions_json",
)
downloads[1].download_button(
    "Download (CSV)",
    safe_csv_bytes(frame.rename_axis("group"), index=True),
    file_name=f"{stem}.csv",
    mime="text/csv",
    key="attributions_csv",
)
