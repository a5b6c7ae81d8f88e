"""Walkthrough: the design document's attention model, one step at a time, on editable numbers."""
import numpy as np
import pandas as pd
import streamlit as st

from attnrec import ui
from attnrec.figures import attention_heatmap, contribution_waterfall, unique_names, z_bars
from attnrec.worked_example import ExampleInputs, comparison_frame

ui.ensure_navigation()

STATE = "walkthrough_inputs"      # last good ExampleInputs
GENERATION = "walkthrough_generation"  # bumped by "Reset", so the editors forget their edits


def reset_to_document() -> None:
    st.session_state[STATE] = ExampleInputs.document()
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1
    for key, value in {"walkthrough_d": 3, "walkthrough_heads": 1, "walkthrough_tau": 1.0,
                       "walkthrough_tied": True}.items():
        st.session_state[key] = value


def numbers_table(rows: dict[str, np.ndarray], names: list[str]) -> None:
    """Named rows of numbers over the dimensions, as a compact table."""
    frame = pd.DataFrame(np.stack([np.asarray(v, dtype=float) for v in rows.values()]),
                         index=list(rows), columns=names)
    config = {n: st.column_config.NumberColumn(n, format="%.4g") for n in names}
    st.dataframe(frame, column_config=config, width="content")


def per_head(label: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """(H, d) → {"label": row} for one head, {"label, head h": row} for several."""
    if values.shape[0] == 1:
        return {label: values[0]}
    return {f"{label}, head {h + 1}": row for h, row in enumerate(values)}


st.title("Walkthrough: how the score S is built")
st.markdown(
    "The design document (§3–§4) scores a user X and an item Y with attention over the d dimensions. "
    "This page runs its formulas on numbers you can edit, starting from the document's worked example "
    "(§4.3). Every table and chart below updates as you type.")

if STATE not in st.session_state:
    reset_to_document()
generation = st.session_state[GENERATION]

controls = st.columns([1, 1, 1, 1.6, 1.4], vertical_alignment="bottom")
d = controls[0].number_input("dimensions d", min_value=1, max_value=40, step=1, key="walkthrough_d")
heads = controls[1].number_input("heads H", min_value=1, max_value=8, step=1, key="walkthrough_heads")
tau = controls[2].number_input("temperature τ", min_value=0.01, max_value=100.0, step=0.1, format="%.2f",
                               key="walkthrough_tau")
tied = controls[3].toggle("tied: W_V = W_U", key="walkthrough_tied",
                          help="The document's single W_a serves both sides. Untied gives W_V its own values "
                               "(the default for trained models).")
controls[4].button("Reset to §4.3", on_click=reset_to_document, help="Load the document's worked example again")

inputs: ExampleInputs = st.session_state[STATE].resized(int(d), int(heads))
names = unique_names(None, inputs.d)

st.header("Inputs")
left, right = st.columns([1, 2])
with left:
    st.markdown("**User X and item Y** (one row per dimension)")
    xy, _ = ui.number_editor("X and Y", np.stack([inputs.x, inputs.y], axis=1), names, ["X", "Y"],
                             key=f"walkthrough_xy_{inputs.d}_{generation}")
    inputs = inputs.replace(x=xy[:, 0], y=xy[:, 1])
with right:
    head = 0
    if inputs.heads > 1:
        head = st.radio("edit the weights of", range(inputs.heads), format_func=lambda h: f"head {h + 1}",
                        horizontal=True, key=f"walkthrough_edit_head_{generation}")
    sides = [("w_u", "W_U" if not tied else "W_a = W_U = W_V")] + ([] if tied else [("w_v", "W_V")])
    for column, (field, label) in zip(st.columns(len(sides)), sides):
        with column:
            suffix = f" (head {head + 1})" if inputs.heads > 1 else ""
            st.markdown(f"**{label}{suffix}**: row i gives the logit of dimension i")
            matrix = getattr(inputs, field).copy()
            matrix[head], _ = ui.number_editor(f"{label}{suffix}", matrix[head], names, names,
                                               key=f"walkthrough_{field}_{inputs.d}_{head}_{generation}")
            inputs = inputs.replace(**{field: matrix})
if tied:  # W_V = W_U: keep them equal, so untying starts from the current W_U (S does not jump)
    inputs = inputs.replace(w_v=inputs.w_u.copy())
st.session_state[STATE] = inputs

trace = inputs.trace(tied=tied, temperature=float(tau)).pair()
a_u, a_v, z_u, z_v, contributions = (np.array(trace[k])for k in ("a_u", "a_v", "z_u", "z_v", "contributions"))
s = float(trace["s"])
many = "^{(h)}" if inputs.heads > 1 else ""

st.header("Step by step")
st.subheader("1. The element-wise product X ⊙ Y")
st.latex(r"(X \odot Y)_i = X_i\,Y_i \qquad (Y \odot X = X \odot Y)")
numbers_table({"X": inputs.x, "Y": inputs.y, "X ⊙ Y": inputs.x * inputs.y}, names)

st.subheader("2. Logits: each side's weights applied to X ⊙ Y")
st.latex(rf"\ell_U{many} = W_U{many}\,(X \odot Y)/\tau \qquad \ell_V{many} = W_V{many}\,(Y \odot X)/\tau"
         rf"\qquad \tau = {float(tau):g}")
numbers_table(per_head("ℓ_U", np.array(trace["logits_u"])) | per_head("ℓ_V", np.array(trace["logits_v"])), names)

st.subheader("3. Attention weights: a softmax over the d dimensions")
st.latex(rf"A_U{many} = \mathrm{{softmax}}(\ell_U{many}) \qquad A_V{many} = \mathrm{{softmax}}(\ell_V{many})"
         r"\qquad \mathrm{softmax}(\ell)_i = \frac{e^{\ell_i}}{\sum_j e^{\ell_j}}")
if tied:
    st.info("Tied mode: W_V = W_U, and X ⊙ Y = Y ⊙ X, so A_V = A_U for every input — the document's "
            "single W_a cannot give the two sides different attention. Untie to give W_V its own values.")
numbers_table(per_head("A_U", a_u) | per_head("A_V", a_v), names)
shared_top = float(max(a_u.max(), a_v.max()))
heat_u, heat_v = st.columns(2)
selection_u = heat_u.plotly_chart(attention_heatmap(a_u, names, "A_U (user side)", "user", zmax=shared_top),
                                  key="walkthrough_heat_u", on_select="rerun", selection_mode="points")
selection_v = heat_v.plotly_chart(attention_heatmap(a_v, names, "A_V (item side)", "item", zmax=shared_top),
                                  key="walkthrough_heat_v", on_select="rerun", selection_mode="points")
clicked = ui.selected_points(selection_u) + ui.selected_points(selection_v)
if clicked:
    h, i = (int(v) for v in clicked[-1])
    st.markdown(
        f"**head {h + 1}, {names[i]}**: A_U = {a_u[h, i]:.4g} so Z_U = {a_u[h, i]:.4g} × Y = {z_u[h, i]:.4g}; "
        f"A_V = {a_v[h, i]:.4g} so Z_V = {a_v[h, i]:.4g} × X = {z_v[h, i]:.4g}; "
        f"contribution {z_u[h, i]:.4g} × {z_v[h, i]:.4g} = {contributions[h, i]:.4g} of S = {s:.4g}.")
else:
    st.caption("Click a cell of either heatmap to follow that dimension through the remaining steps.")

st.subheader("4. Attended vectors: each side's weights applied to the other side")
st.latex(rf"Z_U{many} = A_U{many} \odot Y \qquad Z_V{many} = A_V{many} \odot X")
numbers_table(per_head("Z_U", z_u) | per_head("Z_V", z_v), names)
st.plotly_chart(z_bars(z_u, z_v, names), key="walkthrough_z_bars")

st.subheader("5. Each dimension's contribution, and the score S")
if inputs.heads > 1:
    st.latex(r"c^{(h)}_i = Z^{(h)}_{U,i}\,Z^{(h)}_{V,i} \qquad S = \sum_h \sum_i c^{(h)}_i")
else:
    st.latex(r"c_i = Z_{U,i}\,Z_{V,i} \qquad S = \sum_i c_i = \mathrm{dot}(Z_U, Z_V)")
numbers_table(per_head("c", contributions), names)
st.metric("S", f"{s:.6g}")
st.plotly_chart(contribution_waterfall(contributions, names, s), key="walkthrough_waterfall")

st.header("The document's worked example, checked")
st.markdown(
    "§4.3 prints numbers for X = [0.5, 0.7, 0.3], Y = [0.3, 0.6, 0.1], W_a = [[1,2,3],[4,5,6],[7,8,9]] "
    "(press *Reset* to load them above). None of them follow from its own formulas:")
st.table(comparison_frame().set_index("step"))
