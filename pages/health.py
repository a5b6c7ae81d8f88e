"""Model health: held-out metrics against baselines, how the heads attend, and the pairs it gets most wrong."""
import streamlit as st

from attnrec import ui
from attnrec.figures.explain import entropy_histograms, mean_attention_heatmap
from attnrec.health import (attention_entropy, attention_over_pairs, head_verdicts, held_out_split,
                            mean_attention, metrics_against_baselines, sample_pairs, wrong_pairs)

st.title("Model health")
st.caption("Is the model any good on data it did not train on, do its attention heads look at anything, "
           "and where is it most wrong?")

selection = ui.sidebar()
model = ui.require_model(selection)
dataset = selection.dataset
ui.write_url(item=None, user=None)


@st.cache_data(show_spinner=False, max_entries=16)
def cached_metrics(model_key: str, k: int, mf_epochs: int, _model, _dataset, _progress):
    split = held_out_split(_model, _dataset)
    return metrics_against_baselines(_model, split, k=k, mf_epochs=mf_epochs, progress=_progress), split.describe()


@st.cache_data(show_spinner="Computing attention over the sample…", max_entries=16)
def cached_attention(model_key: str, n_pairs: int, seed: int, _model, _dataset):
    pairs = sample_pairs(_dataset.interactions, n_pairs, seed)
    return attention_over_pairs(_model, pairs["user_id"], pairs["item_id"])


@st.cache_data(show_spinner="Finding the pairs the model gets most wrong…", max_entries=16)
def cached_wrong_pairs(model_key: str, k: int, _model, _dataset):
    return wrong_pairs(_model, held_out_split(_model, _dataset), k)


# ---- metrics ------------------------------------------------------------------------------------------
st.subheader("Held-out ranking quality")
left, right = st.columns([1, 3])
k = left.number_input("Cut-off k", min_value=1, max_value=100, value=10, key="health_k")
mf_epochs = left.number_input("BPR-MF epochs", min_value=1, max_value=200, value=60, key="health_mf_epochs",
                              help="The matrix-factorisation baseline is trained here on the same training split.")
with right.status("Evaluating on held-out data (trains the BPR-MF baseline once)…") as status:
    metrics, protocol = cached_metrics(selection.model_key, int(k), int(mf_epochs), model, dataset,
                                       lambda name: status.update(label=f"Evaluating {name}…"))
    status.update(label="Held-out evaluation", state="complete")
right.dataframe(metrics, hide_index=True, width="stretch",
                column_config={c: st.column_config.NumberColumn(c, format="%.3f")
                               for c in metrics.columns if c not in ("model", "users")})
right.caption(f"Leave-one-out, seed {protocol['seed']}: one positive per user held out "
              f"({protocol['users']} users, chosen by {protocol['held_out_by']}), ranked against every item the "
              "user never interacted with. If this checkpoint was trained on the full data, its own numbers are "
              "optimistic; the baselines always train on the training split only.")

# ---- attention heads ----------------------------------------------------------------------------------
st.subheader("Attention heads over the data")
n_pairs = st.slider("Pairs sampled from the interactions", 100, 5000, 1000, step=100, key="health_pairs")
traces = cached_attention(selection.model_key, int(n_pairs), 0, model, dataset)
sides = (("user", "a_u", "A_U (user side)"),) if model.tied else (("user", "a_u", "A_U (user side)"),
                                                                  ("item", "a_v", "A_V (item side)"))
if model.tied:
    st.caption("Tied model: A_V = A_U, so one picture covers both sides.")
for (side, key, label), tab in zip(sides, st.tabs([label for _, _, label in sides])):
    entropy = attention_entropy(traces[key])
    verdicts = head_verdicts(entropy)
    flagged = verdicts[verdicts["verdict"] != "ok"]
    if len(flagged):
        lines = [f"- head {r.head} is **{r.verdict}** (mean normalised entropy {r.mean_entropy:.2f})"
                 for r in flagged.itertuples()]
        tab.warning("Flagged heads — *collapsed*: nearly all weight on one dimension for every pair; *uniform*: "
                    "weights so even that the head adds nothing to a plain dot product.\n" + "\n".join(lines))
    tab.plotly_chart(entropy_histograms(entropy, verdicts, side=side), width="stretch", key=f"entropy_{side}")
    tab.plotly_chart(mean_attention_heatmap(mean_attention(traces[key]), model.dimension_names, side=side),
                     width="stretch", key=f"mean_{side}")

# ---- most wrong ---------------------------------------------------------------------------------------
st.subheader("Where the model is most wrong")
negatives, positives, source = cached_wrong_pairs(selection.model_key, 10, model, dataset)


def pair_list(title: str, frame, key: str) -> None:
    st.markdown(f"**{title}**")
    for row in frame.itertuples():
        cols = st.columns([5, 2], vertical_alignment="center")
        cols[0].write(f"user {row.user_id} · item {row.item_id}")
        cols[0].caption(f"S = {row.s:.3f} · rank {row.rank} of {len(model.item_ids)}")
        if cols[1].button("Explore", key=f"{key}_{row.Index}", help="Open this pair on the Explore page"):
            st.session_state["explore_user"], st.session_state["explore_item"] = row.user_id, row.item_id
            st.switch_page("pages/explore.py", query_params={"user": row.user_id, "item": row.item_id})


left, right = st.columns(2)
with left:
    pair_list(f"Highest-scored negatives — {source}", negatives, "wrong_negative")
with right:
    pair_list("Lowest-scored held-out positives", positives, "wrong_positive")
