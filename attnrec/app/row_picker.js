// attnrec's row picker (a Streamlit v2 component; attnrec/app/row_picker.py mounts it): a table of rows, click one
// (or move with the arrow keys) to choose it.
//
// st.dataframe tells the server about a row selection only after a 150 ms debounce, and its grid's code (~1.6 MB)
// must load before a page that shows one can draw anything. This table answers a click at once and needs nothing
// but this file. It draws only the rows in view (a 2,000-row table is 2,000 rows of data, not of DOM), sorts by a
// column when its header is clicked, and writes every cell with textContent: no data value is ever markup.
//
// data: {table: JSON text of {columns: [id column's name, ...], rows: [[id, cell, ...], ...]} (strings), selected:
// the id to highlight, seq: a number that changes when the choice was made elsewhere (a link, another page),
// height: px, label: what a row is ("user"), empty: the text for no rows}.
// A pick sets the state value "pick" = {id, nonce}: Python takes each nonce once (the state is resent with every
// later rerun).

const ROW = 32; // px: one row, and the header
const OVERSCAN = 6; // rows drawn beyond each edge of the view
const STYLE_ID = "attnrec-row-picker-style";
const CSS = `
.attnrec-rows { position: relative; overflow: auto; border: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.2));
  border-radius: 0.5rem; font-family: var(--st-font, sans-serif); font-size: 0.875rem;
  color: var(--st-text-color, #31333f); background: var(--st-background-color, #fff); outline: none; }
.attnrec-rows:focus-visible { box-shadow: 0 0 0 2px var(--st-primary-color, #ff4b4b); }
.attnrec-rows-head, .attnrec-row { display: grid; height: ${ROW}px; align-items: center; }
.attnrec-rows-head { position: sticky; top: 0; z-index: 1; font-weight: 600;
  background: var(--st-secondary-background-color, #f0f2f6); border-bottom: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.2)); }
.attnrec-rows-head > div { cursor: pointer; user-select: none; }
.attnrec-rows-head > div:hover { color: var(--st-primary-color, #ff4b4b); }
.attnrec-rows-head > div, .attnrec-row > div { padding: 0 0.6rem; overflow: hidden; white-space: nowrap;
  text-overflow: ellipsis; }
.attnrec-rows-head > .num, .attnrec-row > .num { text-align: right; font-variant-numeric: tabular-nums; }
.attnrec-rows-body { position: relative; }
.attnrec-row { position: absolute; left: 0; right: 0; cursor: pointer;
  border-bottom: 1px solid var(--st-border-color, rgba(49, 51, 63, 0.1)); }
.attnrec-row:hover { background: var(--st-secondary-background-color, #f0f2f6); }
.attnrec-row[aria-selected="true"] { background: color-mix(in srgb, var(--st-primary-color, #ff4b4b) 16%, transparent);
  box-shadow: inset 3px 0 0 var(--st-primary-color, #ff4b4b); }
.attnrec-row > div:first-child { font-weight: 600; }
.attnrec-rows-empty { padding: 0.6rem; opacity: 0.7; }
`;

function ensureStyle() {
  if (document.getElementById(STYLE_ID)) return;
  const style = document.createElement("style");
  style.id = STYLE_ID;
  style.textContent = CSS; // a constant: no data value reaches it
  document.head.appendChild(style);
}

const NUMBER = /^[-+]?(\d[\d,]*\.?\d*|\.\d+)(e[-+]?\d+)?$/i;

// Per column: numeric (every non-empty cell a number: sorted as numbers, right-aligned) and a width from its
// longest text (clamped; the last column also takes what is left).
function describe(table) {
  return table.columns.map((name, c) => {
    let longest = 0;
    let numeric = true;
    let seen = 0;
    for (const row of table.rows) {
      const cell = row[c];
      if (cell.length > longest) longest = cell.length;
      if (cell !== "") {
        seen += 1;
        if (numeric && !NUMBER.test(cell)) numeric = false;
      }
    }
    // The header is bold and may carry a sort arrow: a wider allowance per character, and room for the arrow.
    const header = 40 + 9 * String(name).length;
    return { numeric: numeric && seen > 0 && c > 0, width: Math.max(56, Math.min(280, Math.max(header, 20 + 7.5 * longest))) };
  });
}

function sortedOrder(table, columns, sort) {
  const order = table.rows.map((_, i) => i);
  if (!sort) return order;
  const { column, direction } = sort;
  const key = columns[column].numeric
    ? (i) => (table.rows[i][column] === "" ? NaN : Number(table.rows[i][column].replace(/,/g, "")))
    : (i) => table.rows[i][column];
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  order.sort((a, b) => {
    const x = key(a);
    const y = key(b);
    const xMissing = x === "" || Number.isNaN(x);
    const yMissing = y === "" || Number.isNaN(y);
    if (xMissing || yMissing) return xMissing === yMissing ? a - b : xMissing ? 1 : -1; // missing cells last
    const c = columns[column].numeric ? x - y : collator.compare(x, y);
    return c === 0 ? a - b : direction * c;
  });
  return order;
}

function cell(text, numeric) {
  const div = document.createElement("div");
  div.textContent = text;
  div.title = text; // the whole text on hover, for a cell cut short
  if (numeric) div.className = "num";
  div.setAttribute("role", "gridcell");
  return div;
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  ensureStyle();
  let root = parentElement.querySelector(".attnrec-rows");
  if (!root) {
    root = document.createElement("div");
    root.className = "attnrec-rows";
    root.tabIndex = 0;
    root.setAttribute("role", "grid");
    root.append(document.createElement("div"), document.createElement("div"));
    root.children[0].className = "attnrec-rows-head";
    root.children[0].setAttribute("role", "row");
    root.children[1].className = "attnrec-rows-body";
    parentElement.appendChild(root);
    root.addEventListener("scroll", () => {
      if (!root.attnrecFrame) root.attnrecFrame = requestAnimationFrame(() => ((root.attnrecFrame = 0), root.attnrecDraw()));
    });
    root.addEventListener("keydown", (event) => root.attnrecKey(event));
    // A row is picked on the release of a press on it. Listening on the rows' container, not on each row: a
    // redraw between the press and the release (a rerun's new rows, a scroll) replaces the pressed row, and the
    // browser then sends no click at all (a person's pick was lost under load). The press remembers its row's id.
    const body = root.children[1];
    body.addEventListener("pointerdown", (event) => {
      const row = event.button === 0 ? event.target.closest(".attnrec-row") : null;
      root.attnrecPressed = row ? { id: row.dataset.id, row } : null;
    });
    body.addEventListener("pointerup", (event) => {
      const pressed = root.attnrecPressed;
      root.attnrecPressed = null;
      if (!pressed || event.button !== 0) return;
      const row = event.target.closest(".attnrec-row");
      // Released on the pressed row, or on any row after that one was redrawn away: the press's row.
      if (row === pressed.row || (!pressed.row.isConnected && row && body.contains(row))) root.attnrecPick(pressed.id);
    });
    body.addEventListener("pointercancel", () => (root.attnrecPressed = null));
    // A click with no pointer behind it (assistive technology activating a row).
    body.addEventListener("click", (event) => {
      const row = event.detail === 0 ? event.target.closest(".attnrec-row") : null;
      if (row) root.attnrecPick(row.dataset.id);
    });
  }
  root.attnrecSetState = setStateValue;
  // A rerun that left the table as it was (a click in the other table, a chart's click): nothing to redraw.
  if (root.attnrecTable === data.table && root.attnrecSeq === data.seq && root.attnrecHeight === data.height) return;
  root.attnrecHeight = data.height;
  root.style.maxHeight = `${data.height}px`;
  root.setAttribute("aria-label", `${data.label}s: click a row to choose it`);
  if (root.attnrecTable !== data.table) {
    root.attnrecTable = data.table;
    root.attnrecRows = JSON.parse(data.table);
    root.attnrecColumns = describe(root.attnrecRows);
    const sort = root.attnrecSort;
    if (sort && sort.column >= root.attnrecColumns.length) root.attnrecSort = null;
  }
  if (root.attnrecSeq !== data.seq || root.attnrecSelected === undefined) {
    root.attnrecSeq = data.seq; // chosen elsewhere (or a first draw): show that choice
    root.attnrecSelected = data.selected;
    root.attnrecReveal = true;
  }
  const table = root.attnrecRows;
  const columns = root.attnrecColumns;
  const [head, body] = root.children;
  const template = columns.map((c, i) => (i === columns.length - 1 ? `minmax(${c.width}px, 1fr)` : `${c.width}px`));
  const width = columns.reduce((sum, c) => sum + c.width, 0);

  const pick = (id) => {
    root.attnrecSelected = id;
    root.attnrecDraw();
    root.attnrecSetState("pick", { id, nonce: `${Date.now()}-${Math.random()}` });
  };
  root.attnrecPick = pick;

  root.attnrecDraw = () => {
    const order = root.attnrecOrder;
    const first = Math.max(0, Math.floor(root.scrollTop / ROW) - OVERSCAN);
    const last = Math.min(order.length, Math.ceil((root.scrollTop + root.clientHeight) / ROW) + OVERSCAN);
    const drawn = root.attnrecDrawn;
    // Rows still in view keep their elements (a scroll, a pick, a rerun's redraw of the same table and order):
    // only rows that leave the view are removed and only rows that enter it are made, in their place, so the
    // rows stay in the order they are shown (what a screen reader reads). A row under the pointer is never
    // replaced then, and a scroll does not rebuild the whole view. A new table or a new sort draws anew.
    const kept = new Map();
    if (drawn && drawn.table === table && drawn.order === order) {
      const wanted = new Set();
      for (let k = first; k < last; k += 1) wanted.add(table.rows[order[k]][0]);
      for (const row of [...body.children]) {
        if (wanted.has(row.dataset.id)) kept.set(row.dataset.id, row);
        else row.remove();
      }
    } else {
      body.replaceChildren();
    }
    root.attnrecDrawn = { order, table };
    let next = body.firstChild; // the kept rows are one run, in order: new rows go before it or after it
    for (let k = first; k < last; k += 1) {
      const values = table.rows[order[k]];
      let row = kept.get(values[0]);
      if (row) {
        next = row.nextSibling;
      } else {
        row = document.createElement("div");
        row.className = "attnrec-row";
        row.setAttribute("role", "row");
        row.style.gridTemplateColumns = template.join(" ");
        row.dataset.id = values[0];
        values.forEach((text, c) => row.appendChild(cell(text, columns[c].numeric)));
        body.insertBefore(row, next);
      }
      row.setAttribute("aria-rowindex", String(k + 2));
      row.setAttribute("aria-selected", String(values[0] === root.attnrecSelected));
      row.style.top = `${k * ROW}px`;
    }
  };

  root.attnrecKey = (event) => {
    const order = root.attnrecOrder;
    if (!order.length) return;
    const at = order.findIndex((i) => table.rows[i][0] === root.attnrecSelected);
    const page = Math.max(1, Math.floor(root.clientHeight / ROW) - 1);
    const moves = { ArrowDown: 1, ArrowUp: -1, PageDown: page, PageUp: -page, Home: -order.length, End: order.length };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const k = Math.min(order.length - 1, Math.max(0, (at < 0 ? -1 : at) + moves[event.key]));
    const top = k * ROW;
    if (top < root.scrollTop) root.scrollTop = top;
    else if (top + 2 * ROW > root.scrollTop + root.clientHeight) root.scrollTop = top + 2 * ROW - root.clientHeight;
    pick(table.rows[order[k]][0]);
  };

  // The header: click a column to sort by it (ascending, descending, then the table's own order).
  const drawHead = () => {
    const sort = root.attnrecSort;
    head.style.gridTemplateColumns = template.join(" ");
    head.replaceChildren(
      ...table.columns.map((name, c) => {
        const arrow = sort && sort.column === c ? (sort.direction > 0 ? " ↑" : " ↓") : "";
        const div = cell(`${name}${arrow}`, columns[c].numeric);
        div.setAttribute("role", "columnheader");
        div.setAttribute("aria-sort", arrow ? (sort.direction > 0 ? "ascending" : "descending") : "none");
        div.title = `Sort by ${name}`;
        div.addEventListener("click", () => {
          const now = root.attnrecSort;
          root.attnrecSort =
            now && now.column === c ? (now.direction > 0 ? { column: c, direction: -1 } : null) : { column: c, direction: 1 };
          root.attnrecOrder = sortedOrder(table, columns, root.attnrecSort);
          drawHead();
          root.attnrecDraw();
        });
        return div;
      }),
    );
  };

  root.attnrecOrder = sortedOrder(table, columns, root.attnrecSort);
  root.setAttribute("aria-rowcount", String(table.rows.length + 1));
  head.style.minWidth = body.style.minWidth = `${width}px`;
  body.style.height = `${table.rows.length * ROW}px`;
  drawHead();
  let empty = root.querySelector(".attnrec-rows-empty");
  if (!table.rows.length) {
    if (!empty) {
      empty = document.createElement("div");
      empty.className = "attnrec-rows-empty";
      root.appendChild(empty);
    }
    empty.textContent = data.empty;
  } else if (empty) {
    empty.remove();
  }
  root.style.height = `${Math.min(data.height, ROW * (Math.max(table.rows.length, 1) + 1) + 2)}px`;
  if (root.attnrecReveal) {
    root.attnrecReveal = false; // bring the chosen row into view, once per outside choice
    const k = root.attnrecOrder.findIndex((i) => table.rows[i][0] === root.attnrecSelected);
    if (k >= 0 && (k * ROW < root.scrollTop || (k + 2) * ROW > root.scrollTop + root.clientHeight)) {
      root.scrollTop = Math.max(0, k * ROW - ROW);
    }
  }
  root.attnrecDraw();
}
