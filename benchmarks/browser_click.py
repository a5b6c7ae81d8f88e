"""Explore in a real browser: click a table row, wait until both attention heatmaps (A_U, A_V) show the new pair.

    python benchmarks/browser_click.py [--pairs 20] [--root /tmp/before] [--python /path/to/python]

Serves the app from --root (default: this checkout) with --python as the README says (`attnrec app`; --launch
streamlit for a plain `streamlit run app.py`), opens it in Chromium (Playwright), and picks --pairs different
user–item pairs by clicking rows of the user and item tables (alternately; every pair is new, so nothing is a cache
hit). Per click it reports
- click → both heatmaps updated: from Playwright's mouse click (Python's clock) until the A_U and the A_V chart
  both hold new data, as seen from Python (it includes Playwright's round trips to the browser);
- the same in the page's own clock: from the pointer press to the animation frame in which both charts hold the
  new data (what a person sees);
- where that time goes, in the page's own clock: click → the first and → the last message of the rerun from the
  server (the rest until the last message is the rerun), the remainder is the browser drawing;
- server CPU: the `streamlit run` process's user+system CPU (/proc) from the click until the app is idle;
- Chromium CPU: the same for the browser and all its child processes;
- websocket: frames and bytes the page received from the server for the click.
Medians, p95 and the range; goal: median ≤ 300 ms, server CPU ≤ 100 ms per click.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from attnrec.devserver import ROOT, TWO_FRAMES, free_port, healthy, launch_chromium, server_command

HEADER, ROW = 35, 35  # Streamlit's data grid: header and row height in px
PICKER_ROW = 32  # attnrec's row picker: row height in px (row_picker.js)
TICK = os.sysconf("SC_CLK_TCK")

# A signature of the data each attention heatmap holds, found by its title ("A_U: …", "A_V: …").
SIGNATURES = """() => {
  const out = {};
  for (const el of document.querySelectorAll(".js-plotly-plot")) {
    const title = ((el.layout || {}).title || {}).text || "";
    const side = title.includes("A_U: ") ? "u" : title.includes("A_V: ") ? "v" : null;
    if (!side || !el.querySelector(".main-svg")) continue;
    out[side] = JSON.stringify((el.data || []).map(t => t.z || null),
                               (k, v) => ArrayBuffer.isView(v) ? Array.from(v) : v);
  }
  return out;
}"""


# The floor: the same two pickers as Explore's (`attnrec.app.row_picker`, from the installed attnrec whatever --root
# says) on a page that shows only the chosen pair as an st.metric, served by `streamlit run` in the same run. A row
# click there costs Streamlit's own work and the picker's, and nothing of the explanation's.
FLOOR_PAGE = """import pandas as pd
import streamlit as st

from attnrec.app import row_picker


@st.cache_data
def tables():
    return pd.read_parquet("users.parquet"), pd.read_parquet("items.parquet")


users, items = tables()
st.title("Pick a pair")


@st.fragment
def pair():
    left, right = st.columns(2)
    user, item = st.query_params.get("user"), st.query_params.get("item")
    with left:
        user = row_picker.pick(users, what="user", key="u", current=user, cache_key="floor", height=143)
    with right:
        item = row_picker.pick(items, what="item", key="i", current=item, cache_key="floor", height=143)
    st.query_params["user"], st.query_params["item"] = user, item
    st.metric("pair", f"{user} × {item}")


pair()
"""
FLOOR_SIGNATURES = """() => {
  const shown = [...document.querySelectorAll("[data-testid='stMetricValue']")].map(e => e.textContent).join();
  return {u: shown, v: shown};
}"""


def floor_latencies(dataset, default_pair, clicks, python: str, tmp: Path):
    """The same clicks on FLOOR_PAGE (a fresh `streamlit run`, with the app's .streamlit/config.toml)."""
    folder = tmp / "floor"
    (folder / ".streamlit").mkdir(parents=True)
    (folder / ".streamlit" / "config.toml").write_text((ROOT / ".streamlit" / "config.toml").read_text())
    (folder / "floor.py").write_text(FLOOR_PAGE)
    dataset.users.to_parquet(folder / "users.parquet")
    dataset.items.to_parquet(folder / "items.parquet")
    with open(folder / "server.log", "wb") as log:
        server, url = serve(folder, python, log, script="floor.py")
    try:
        query = f"?user={default_pair[0]}&item={default_pair[1]}"
        return click_latencies(url + query, clicks, server.pid, folder, signatures=FLOOR_SIGNATURES)
    finally:
        server.terminate()
        server.wait(timeout=30)


def cpu_seconds(pids) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)
    return total / TICK


def descendants(root_pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def browser_pid(profile: str) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            # The browser process: launched with this profile as its user-data dir, and not one of its children
            # (--type=renderer, gpu, …) nor the crash handler (whose --database lies inside the profile).
            if b"--user-data-dir=" + profile.encode() in cmd and not any(c.startswith(b"--type=") for c in cmd):
                return int(entry.name)
    raise RuntimeError("Chromium's browser process not found")


def serve(root: Path, python: str, log, script: str = "app.py", launch: str = "attnrec"):
    """A fresh server of root/script on a free port (`attnrec.devserver.server_command`: app.py as the README
    says, `attnrec app`, unless launch="streamlit"); (process, base URL) once it answers."""
    port = free_port()
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "PYTHONPATH": str(root)}
    options = ("--server.fileWatcherType", "none", "--server.runOnSave", "false")
    server = subprocess.Popen(
        server_command(python, script, port, launch, *options),
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while not healthy(url):
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("streamlit did not start")
        time.sleep(0.2)
    return server, url


def plan_clicks(user_ids, item_ids, default_pair, n, looks, rows=8):
    """(table, row) clicks, alternating tables, each giving a pair not seen before whose heatmaps both differ from
    the previous pair's (`looks(pair)`: the attention units' A_U, A_V; pairs whose attention all sits on the taste
    block look the same, and a click that changes nothing on screen cannot be timed)."""
    seen, current, clicks, turn = {default_pair}, default_pair, [], 0

    def differs(a, b):
        (au_a, av_a), (au_b, av_b) = looks(a), looks(b)
        return not (au_a.shape == au_b.shape and abs(au_a - au_b).max() < 1e-3) and not (
            av_a.shape == av_b.shape and abs(av_a - av_b).max() < 1e-3
        )

    while len(clicks) < n:
        for attempt in range(2):
            table = (turn + attempt) % 2
            ids = user_ids if table == 0 else item_ids
            nxt = {r: tuple(ids[r] if t == table else current[t] for t in (0, 1)) for r in range(rows)}
            options = [
                r for r in range(rows) if ids[r] != current[table] and nxt[r] not in seen and differs(current, nxt[r])
            ]
            if options:
                row = options[0]
                current = tuple(ids[row] if t == table else current[t] for t in (0, 1))
                seen.add(current)
                clicks.append((table, row, current))
                turn = 1 - table
                break
        else:
            raise RuntimeError("ran out of new pairs among the first rows")
    return clicks


def settle(pids, quiet_s: float = 0.3, limit_s: float = 30.0) -> None:
    """Wait until the processes' CPU time stops growing (the rerun and its messages are done)."""
    deadline = time.monotonic() + limit_s
    last = cpu_seconds(pids)
    while time.monotonic() < deadline:
        time.sleep(quiet_s)
        now = cpu_seconds(pids)
        if now - last < 0.011:
            return
        last = now


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def describe(name, values, unit="ms"):
    return (
        f"{name:<34} median {statistics.median(values):8.1f} {unit}  p95 {percentile(values, 95):8.1f}  "
        f"range {min(values):.1f}–{max(values):.1f}  (n={len(values)})"
    )


# The page's own clock: the time of the last pointer press and of every message from the server since (a wrapped
# WebSocket), read back after each click.
PAGE_CLOCK = """
window.attnrecClock = {click: null, messages: []};
window.addEventListener("pointerdown", () => { window.attnrecClock = {click: performance.now(), messages: []}; }, true);
window.WebSocket = class extends window.WebSocket {  // a subclass: the constants (OPEN, …) stay as they are
  constructor(...args) {
    super(...args);
    this.addEventListener("message", () => window.attnrecClock.messages.push(performance.now()));
  }
};
"""
CLOCK_READ = """() => { const c = window.attnrecClock; const m = c.messages;
  return c.click === null || !m.length ? null : [m[0] - c.click, m[m.length - 1] - c.click]; }"""


def click_latencies(url: str, clicks, server_pid: int, tmp: Path, grid_offset: int = 0, signatures: str = SIGNATURES):
    """Open `url` in Chromium, wait for both heatmaps, then make each planned (table, row, pair) click and time it
    until both heatmaps hold new data. Returns (rows of [latency ms, server CPU ms, Chromium CPU ms, websocket
    frames, websocket KiB, click → first message ms, click → last message ms, press → drawn ms in the page's
    clock], clicks missed). `grid_offset`: tables (pickers, or grids on an older checkout) on the page before the
    user table; `signatures`: what "updated" means (default: the A_U and A_V heatmaps' data; FLOOR_SIGNATURES for
    the floor page)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    missed, rows = 0, []
    with sync_playwright() as p:
        profile = str(tmp / "profile")
        context = launch_chromium(p, profile, 1280, 900)
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(180_000)
        received = {"frames": 0, "bytes": 0}

        def on_socket(ws):
            def count(payload):
                received["frames"] += 1
                received["bytes"] += len(payload)

            ws.on("framereceived", count)

        page.on("websocket", on_socket)
        page.add_init_script(PAGE_CLOCK)
        page.goto(url)
        page.wait_for_function(f"(() => {{ const s = ({signatures})(); return s.u && s.v; }})()")
        chrome = browser_pid(profile)
        settle([server_pid] + descendants(chrome), limit_s=60)
        # attnrec's row picker (`attnrec.app.row_picker`), or Streamlit's data grid on a checkout from before it.
        pickers = page.locator(".attnrec-rows")
        grids = page.locator("[data-testid='stDataFrame']")
        rows = []
        for table, row, pair in clicks:
            before = page.evaluate(signatures)
            # The pickers show three rows: scroll the table so the row is among them, then click it.
            top = max(0, row - 2)
            if pickers.count():
                picker = pickers.nth(grid_offset + table)
                picker.evaluate(f"t => {{ t.scrollTop = {PICKER_ROW * top}; }}")
                page.evaluate(TWO_FRAMES)
                target = picker.locator(f".attnrec-row[data-id='{pair[table]}']").bounding_box()
                x, y = target["x"] + 12, target["y"] + target["height"] / 2
            else:
                grid = grids.nth(grid_offset + table)
                grid.evaluate(f"g => {{ g.querySelector('.dvn-scroller').scrollTop = {ROW * top}; }}")
                page.evaluate(TWO_FRAMES)
                box = grid.bounding_box()
                x, y = box["x"] + 12, box["y"] + HEADER + ROW * (row - top) + ROW / 2
            chrome_pids = descendants(chrome)
            server_cpu, chrome_cpu = cpu_seconds([server_pid]), cpu_seconds(chrome_pids)
            frames, size = received["frames"], received["bytes"]
            start = time.perf_counter()
            page.mouse.click(x, y)
            try:
                drawn = page.wait_for_function(
                    f"b => {{ const s = ({signatures})(); "
                    "return s.u && s.v && s.u !== b.u && s.v !== b.v ? performance.now() : 0; }",
                    arg=before,
                    polling="raf",
                    timeout=120_000,
                ).json_value()
            except PlaywrightTimeout:
                print(
                    f"click {len(rows) + 1}: {pair}: the heatmaps did not both change; not counted",
                    file=sys.stderr,
                    flush=True,
                )
                missed += 1
                continue
            latency = time.perf_counter() - start
            page.wait_for_function("!document.querySelector(\"[data-testid='stStatusWidget']\")")
            settle([server_pid] + chrome_pids)
            shown = page.evaluate(
                "() => { const q = new URLSearchParams(location.search); return [q.get('user'), q.get('item')]; }"
            )
            if tuple(shown) != pair:
                raise RuntimeError(f"expected pair {pair}, the page shows {shown}")
            print(f"click {len(rows) + 1}: {pair} {latency * 1000:.0f} ms", file=sys.stderr, flush=True)
            first, last = page.evaluate(CLOCK_READ) or (float("nan"), float("nan"))
            pressed = page.evaluate("() => window.attnrecClock.click")
            rows.append(
                (
                    latency * 1000,
                    (cpu_seconds([server_pid]) - server_cpu) * 1000,
                    (cpu_seconds(chrome_pids) - chrome_cpu) * 1000,
                    received["frames"] - frames,
                    (received["bytes"] - size) / 1024,
                    first,
                    last,
                    drawn - pressed if pressed is not None else float("nan"),
                )
            )
        context.close()
    return rows, missed


def attention_looks(model):
    """looks(pair): the A_U and A_V columns Explore's short view shows for the pair (as app_pages/explore.py
    picks them), cached; `plan_clicks` uses it to pick clicks that change what is on screen."""
    import numpy as np

    from attnrec.figures import dimensions_that_matter

    member = np.zeros((model.d, len(model.attention_units())))
    for j, unit in enumerate(model.attention_units()):
        member[unit, j] = 1

    @functools.lru_cache(maxsize=None)
    def looks(pair):
        """The A_U and A_V columns Explore's short view shows for the pair (as app_pages/explore.py picks them)."""
        x, y = model.encode_user(model.user_rows(pair[0])), model.encode_item(model.item_rows(pair[1]))
        trace = model.attention(x, y)
        a_u, a_v = trace.a_u[0].detach().numpy() @ member, trace.a_v[0].detach().numpy() @ member
        contributions = trace.contributions[0].detach().numpy() @ member
        null = [member.shape[1] - 1] if model.null_slot else []
        shown = sorted(
            dimensions_that_matter(
                contributions, a_u, a_v, k=12, skip=null, product=np.abs((x * y)[0].detach().numpy()) @ member
            )
            + ([] if not null or a_u[:, -1].max() + a_v[:, -1].max() == 0 else null)
        )
        return a_u[:, shown], a_v[:, shown]

    return looks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20)
    parser.add_argument("--root", default=str(ROOT), help="the checkout to serve (e.g. a `git worktree` of HEAD)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument(
        "--launch",
        choices=["attnrec", "streamlit"],
        default="attnrec",
        help="serve the app as the README says (`attnrec app`) or by a plain `streamlit run app.py`",
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the floor page (FLOOR_PAGE)")
    args = parser.parse_args()
    root = Path(args.root).resolve()

    sys.path.insert(0, str(root))
    from attnrec.data import load_dataset  # the tables' row order and the page's default pair

    dataset = load_dataset("restaurants")
    positives = dataset.positives
    default_pair = (str(positives["user_id"].iloc[0]), str(positives["item_id"].iloc[0]))
    user_ids = [str(u) for u in dataset.users.index[:8]]
    item_ids = [str(i) for i in dataset.items.index[:8]]
    # The app's default model for the dataset (the first shipped checkpoint by name), to plan visible changes.

    from attnrec.model import Recommender

    folder = sorted(
        p
        for p in (root / "sample_data" / "models").iterdir()
        if (p / "config.json").exists() and p.name.startswith("restaurants")
    )[0]
    model = Recommender.load(folder, device="cpu", dataset=dataset)
    clicks = plan_clicks(user_ids, item_ids, default_pair, args.pairs, attention_looks(model))

    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "server.log", "wb") as log:
        server, url = serve(root, args.python, log, launch=args.launch)
        try:
            rows, missed = click_latencies(url, clicks, server.pid, Path(tmp))
        finally:
            server.terminate()
            server.wait(timeout=30)
        floor = None if args.no_floor else floor_latencies(dataset, default_pair, clicks, args.python, Path(tmp))[0]
    commit = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    print(f"root {root}  ({commit})  {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    if missed:
        print(f"{missed} click(s) changed no heatmap and are not counted")
    labels = ["click → both heatmaps updated", "server CPU per click", "Chromium CPU per click"]
    for k, label in enumerate(labels):
        print(describe(label, [r[k] for r in rows]))
    print(describe("websocket frames per click", [r[3] for r in rows], unit=""))
    print(describe("websocket KiB per click", [r[4] for r in rows], unit="KiB"))
    print(describe("page clock: click → first message", [r[5] for r in rows]))
    print(describe("page clock: click → last message", [r[6] for r in rows]))
    print(describe("page clock: press → heatmaps drawn", [r[7] for r in rows]))
    if floor:
        print(describe("floor page: click → pair shown", [r[0] for r in floor]))
        print(describe("floor page: page clock", [r[7] for r in floor]))
        print(describe("floor page: server CPU per click", [r[1] for r in floor]))
        print(describe("floor page: Chromium CPU per click", [r[2] for r in floor]))
    latency = statistics.median(r[0] for r in rows)
    server_cpu = statistics.median(r[1] for r in rows)
    print(f"goal: median ≤ 300 ms → {latency:.0f} ms; server CPU ≤ 100 ms/click → {server_cpu:.0f} ms")


if __name__ == "__main__":
    main()
