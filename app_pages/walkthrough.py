"""Walkthrough: the design document's attention model, one step at a time, on editable numbers.

The example (X, Y, W_U, W_V, d, H, τ, tied) lives in the URL (attnrec.walkthrough_state), so a copied link
reopens it; a step-by-step mode shows one step at a time for projecting; every figure downloads as PNG or SVG.
"""

import numpy as np
import streamlit as st

from attnrec.app import url, widgets
from attnrec.app.walkthrough_session import (
    BEFORE,
    CELL_DIM,
    CELL_HEAD,
    CHANGES,
    FIGURE_FORMAT,
    GENERATION,
    SNAPSHOT,
    STATE,
    STEP,
    STEP_COUNT,
    STEP_MODE,
    chart,
    follow_click,
    move_step,
    numbers_table,
    per_head,
    read_link,
    reset_to_document,
)
from attnrec.figures import attention_heatmap, contribution_waterfall, unique_names, z_bars
from attnrec.walkthrough_math import GLOSSARY, STEPS, cell_arithmetic, changes, moved, snapshot, walk_values
from attnrec.walkthrough_state import (
    MAX_D,
    MAX_HEADS,
    MAX_TAU,
    MIN_TAU,
    WalkthroughState,
    cell_text,
    encode,
)
from attnrec.worked_example import ExampleInputs, comparison_frame

# ---- the page ------------------------------------------------------------------------------------------

st.title("Walkthrough: how the score S is built")
st.markdown(
    "The design document (§3–§4) scores a user X and an item Y with attention over the d dimensions. "
    "This page runs its formulas on numbers you can edit, starting from the document's worked example "
    "(§4.3). Every table and chart below updates as you type, and the link in the address bar reopens "
    "exactly this example."
)

read_link()
generation = st.session_state[GENERATION]

controls = st.columns([1, 1, 1, 1.6, 1.4], vertical_alignment="bottom")
d = controls[0].number_input("dimensions d", min_value=1, max_value=MAX_D, step=1, key="walkthrough_d")
heads = controls[1].number_input("heads H", min_value=1, max_value=MAX_HEADS, step=1, key="walkthrough_heads")
tau = controls[2].number_input(
    "temperature τ", min_value=MIN_TAU, max_value=MAX_TAU, step=0.1, format="%.2f", key="walkthrough_tau"
)
tied = controls[3].toggle(
    "tied: W_V = W_U",
    key="walkthrough_tied",
    help="The document's single W_a serves both sides. Untied gives W_V its own values "
    "(the default for trained models).",
)
controls[4].button("Reset to §4.3", on_click=reset_to_document, help="Load the document's worked example again")
modes = st.columns([1.6, 1.4, 3], vertical_alignment="bottom")
glossary = "\n".join(f"- `{symbol}`{f' ({shape})' if shape else ''}: {meaning}" for symbol, shape, meaning in GLOSSARY)
step_mode = modes[0].toggle(
    "Step-by-step mode",
    key=STEP_MODE,
    help="One step on screen at a time, in large type, with Next / Previous: for projecting in a classroom.",
)
modes[1].selectbox(
    "Figures download as",
    ["png", "svg"],
    key=FIGURE_FORMAT,
    format_func=str.upper,
    help="The camera button in each figure's toolbar saves it in this format.",
)
with modes[2].expander("Glossary of the symbols"):
    st.markdown(glossary)  # static text written in attnrec.worked_example, no data

inputs: ExampleInputs = st.session_state[STATE].resized(int(d), int(heads))
names = unique_names(None, inputs.d)


def edit_inputs(inputs: ExampleInputs) -> ExampleInputs:
    left, right = st.columns([1, 2])
    with left:
        st.markdown("**User X and item Y** (one row per dimension)")
        xy, _ = widgets.number_editor(
            "X and Y",
            np.stack([inputs.x, inputs.y], axis=1),
            names,
            ["X", "Y"],
            key=f"walkthrough_xy_{inputs.d}_{generation}",
        )
        inputs = inputs.replace(x=xy[:, 0], y=xy[:, 1])
    with right:
        head = 0
        if inputs.heads > 1:
            head = st.radio(
                "edit the weights of",
                range(inputs.heads),
                format_func=lambda h: f"head {h + 1}",
                horizontal=True,
                key=f"walkthrough_edit_head_{generation}",
            )
        sides = [("w_u", "W_U" if not tied else "W_a = W_U = W_V")] + ([] if tied else [("w_v", "W_V")])
        for column, (field, label) in zip(st.columns(len(sides)), sides):
            with column:
                suffix = f" (head {head + 1})" if inputs.heads > 1 else ""
                st.markdown(f"**{label}{suffix}**: row i gives the logit of dimension i")
                matrix = getattr(inputs, field).copy()
                matrix[head], _ = widgets.number_editor(
                    f"{label}{suffix}",
                    matrix[head],
                    names,
                    names,
                    key=f"walkthrough_{field}_{inputs.d}_{head}_{generation}",
                )
                inputs = inputs.replace(**{field: matrix})
    return inputs


if step_mode:
    with st.expander("Inputs: X, Y and the weights (edit them here)"):
        inputs = edit_inputs(inputs)
else:
    st.header("Inputs")
    inputs = edit_inputs(inputs)
if tied:  # W_V = W_U: keep them equal, so untying starts from the current W_U (S does not jump)
    inputs = inputs.replace(w_v=inputs.w_u.copy())
st.session_state[STATE] = inputs
state = WalkthroughState(inputs, float(tau), bool(tied))
url.write_url(**encode(state), step=st.session_state.get(STEP, 1) if step_mode else None)

values = walk_values(inputs, bool(tied), float(tau))
a_u, a_v, z_u, z_v, contributions, s = (values[k] for k in ("a_u", "a_v", "z_u", "z_v", "c", "s"))
many = "^{(h)}" if inputs.heads > 1 else ""

# What the last edit moved: compared with the numbers of the previous, different example.
now = snapshot(inputs, bool(tied), float(tau))
before = st.session_state.get(SNAPSHOT)
if before is not None and any(not np.array_equal(before[k], now[k]) for k in ("X", "Y", "W_U", "W_V", "τ")):
    st.session_state[CHANGES] = changes(before, now, names)
    st.session_state[BEFORE] = before
st.session_state[SNAPSHOT] = now


def marks(name: str) -> np.ndarray:
    """Which entries of the quantity `name` (a snapshot key) the last edit moved; none before any edit."""
    last = st.session_state.get(BEFORE)
    if last is None or last[name].shape != now[name].shape:
        return np.zeros(now[name].shape, dtype=bool)
    return moved(last[name], now[name])


# The cell whose arithmetic is shown: chosen below, or by clicking a heatmap cell.
if st.session_state.get(CELL_HEAD, 0) >= inputs.heads:
    st.session_state[CELL_HEAD] = 0
if st.session_state.get(CELL_DIM, 0) >= inputs.d:
    st.session_state[CELL_DIM] = 0
url.write_url(cell=cell_text(st.session_state.get(CELL_HEAD, 0), st.session_state.get(CELL_DIM, 0)))


def cell_chooser() -> tuple[int, int]:
    pick = st.columns([1, 1, 3], vertical_alignment="bottom")
    head = pick[0].selectbox(
        "follow head",
        range(inputs.heads),
        format_func=lambda h: f"head {h + 1}",
        key=CELL_HEAD,
        disabled=inputs.heads == 1,
    )
    dim = pick[1].selectbox("follow dimension", range(inputs.d), format_func=lambda i: names[i], key=CELL_DIM)
    pick[2].caption("…or click a cell of either heatmap (step 3).")
    return int(head), int(dim)


def step_heading(number: int) -> None:
    title = f"{number}. {STEPS[number - 1][0]}"
    if step_mode:  # large type for projecting
        st.title(title)
    else:
        st.subheader(title)


def step_1() -> None:
    step_heading(1)
    st.latex(STEPS[0][1])
    numbers_table(
        {"X": inputs.x, "Y": inputs.y, "X ⊙ Y": inputs.x * inputs.y},
        names,
        {"X": marks("X"), "Y": marks("Y"), "X ⊙ Y": marks("X ⊙ Y")},
    )


def step_2() -> None:
    step_heading(2)
    st.latex(
        rf"\ell_U{many} = W_U{many}\,(X \odot Y)/\tau \qquad \ell_V{many} = W_V{many}\,(Y \odot X)/\tau"
        rf"\qquad \tau = {float(tau):g}"
    )
    numbers_table(
        per_head("ℓ_U", values["logits_u"]) | per_head("ℓ_V", values["logits_v"]),
        names,
        per_head("ℓ_U", marks("ℓ_U")) | per_head("ℓ_V", marks("ℓ_V")),
    )


def step_3() -> None:
    step_heading(3)
    st.latex(
        rf"A_U{many} = \mathrm{{softmax}}(\ell_U{many}) \qquad A_V{many} = \mathrm{{softmax}}(\ell_V{many})"
        r"\qquad \mathrm{softmax}(\ell)_i = \frac{e^{\ell_i}}{\sum_j e^{\ell_j}}"
    )
    if tied:
        st.info(
            "Tied mode: W_V = W_U, and X ⊙ Y = Y ⊙ X, so A_V = A_U for every input — the document's "
            "single W_a cannot give the two sides different attention. Untie to give W_V its own values."
        )
    numbers_table(
        per_head("A_U", a_u) | per_head("A_V", a_v),
        names,
        per_head("A_U", marks("A_U")) | per_head("A_V", marks("A_V")),
    )
    shared_top = float(max(a_u.max(), a_v.max()))
    heat_u, heat_v = st.columns(2)
    for box, side, values_, title, colour in (
        (heat_u, "u", a_u, "A_U (user side)", "user"),
        (heat_v, "v", a_v, "A_V (item side)", "item"),
    ):
        chart(
            box,
            attention_heatmap(values_, names, title, colour, zmax=shared_top),
            f"heat_{side}",
            on_select=lambda key=f"walkthrough_heat_{side}": follow_click(key),
            selection_mode="points",
        )


def step_4() -> None:
    step_heading(4)
    st.latex(rf"Z_U{many} = A_U{many} \odot Y \qquad Z_V{many} = A_V{many} \odot X")
    numbers_table(
        per_head("Z_U", z_u) | per_head("Z_V", z_v),
        names,
        per_head("Z_U", marks("Z_U")) | per_head("Z_V", marks("Z_V")),
    )
    chart(st, z_bars(z_u, z_v, names), "z_bars")


def step_5() -> None:
    step_heading(5)
    if inputs.heads > 1:
        st.latex(r"c^{(h)}_i = Z^{(h)}_{U,i}\,Z^{(h)}_{V,i} \qquad S = \sum_h \sum_i c^{(h)}_i")
    else:
        st.latex(r"c_i = Z_{U,i}\,Z_{V,i} \qquad S = \sum_i c_i = \mathrm{dot}(Z_U, Z_V)")
    numbers_table(per_head("c", contributions), names, per_head("c", marks("c")))
    s_before = float(st.session_state[BEFORE]["S"]) if st.session_state.get(BEFORE) is not None else None
    st.metric(
        "S",
        f"{s:.6g}",
        delta=None if s_before is None or s_before == s else f"{s - s_before:+.4g}",
        help="After an edit, the number under S is how much that edit moved it.",
    )
    chart(st, contribution_waterfall(contributions, names, s), "waterfall")


def show_changes() -> None:
    st.subheader("Changed since your last edit")
    report = st.session_state.get(CHANGES)
    if report is None:
        st.caption("Edit any number above: this table then lists every number the edit moved, before → after.")
        return
    table, note = report
    if note:
        st.info(note)
        return
    if table.empty:
        st.caption("The last edit moved nothing.")
        return
    st.caption(f"{len(table)} numbers moved (inputs first, then X ⊙ Y, ℓ_U, ℓ_V, A_U, A_V, Z_U, Z_V, c and S).")
    st.dataframe(
        table,
        hide_index=True,
        height=min(420, 38 + 35 * len(table)),
        key="walkthrough_changes_table",
        column_config={
            "before": st.column_config.NumberColumn("before", format="%.4g"),
            "after": st.column_config.NumberColumn("after", format="%.4g"),
            "Δ": st.column_config.NumberColumn("Δ (after − before)", format="%+.4g"),
        },
    )


STEP_VIEWS = (step_1, step_2, step_3, step_4, step_5)

if step_mode:
    number = min(STEP_COUNT, max(1, st.session_state.get(STEP, 1)))
    st.session_state[STEP] = number
    nav = st.columns([1, 3, 1], vertical_alignment="center")
    nav[0].button(
        "◀ Previous", on_click=move_step, args=(-1,), disabled=number == 1, key="walkthrough_previous", width="stretch"
    )
    nav[1].progress(number / STEP_COUNT, text=f"Step {number} of {STEP_COUNT}")
    nav[2].button(
        "Next ▶", on_click=move_step, args=(1,), disabled=number == STEP_COUNT, key="walkthrough_next", width="stretch"
    )
    STEP_VIEWS[number - 1]()
    head, dim = cell_chooser()
    st.subheader("The numbers for one cell")
    for line in cell_arithmetic(inputs, bool(tied), float(tau), head, dim, names):
        if line.step == number:
            st.latex(line.latex)
    if number == STEP_COUNT:
        show_changes()
else:
    st.header("Step by step")
    if st.session_state.get(BEFORE) is not None:
        st.caption("Shaded cells moved in your last edit; the table under step 5 says by how much.")
    step_1()
    step_2()
    step_3()
    st.markdown("**Follow one cell** through every step, with its numbers substituted:")
    head, dim = cell_chooser()
    st.code(
        "\n".join(line.text for line in cell_arithmetic(inputs, bool(tied), float(tau), head, dim, names)),
        language=None,
        wrap_lines=True,
    )
    step_4()
    step_5()
    show_changes()

    st.header("The document's worked example, checked")
    st.markdown(
        "§4.3 prints numbers for X = [0.5, 0.7, 0.3], Y = [0.3, 0.6, 0.1], W_a = [[1,2,3],[4,5,6],[7,8,9]] "
        "(press *Reset* to load them above). None of them follow from its own formulas:"
    )
    st.table(comparison_frame().set_index("step"))
