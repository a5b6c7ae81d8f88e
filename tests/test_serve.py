"""`attnrec app` (attnrec.app.serve): the app's libraries are imported before Streamlit starts, the command line
reaches `streamlit run app.py` unchanged, and nothing in the warm-up changes what the app shows.

The served app itself is exercised by every browser test: `attnrec.devserver.serve_app` starts it this way.
"""

import base64
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from attnrec.devserver import server_command

ROOT = Path(__file__).resolve().parents[1]


def test_the_warm_up_imports_the_first_page_s_libraries_and_not_captum():
    code = (
        "import sys; from attnrec.app.serve import warm_up, WARM_MODULES; warm_up(); "
        "from attnrec.app.plotly_view import _find_chunk; from streamlit import delta_generator; "
        "print(all(m in sys.modules for m in WARM_MODULES), 'captum' in sys.modules, 'torch' in sys.modules, "
        "_find_chunk.cache_info().currsize, delta_generator._use_warning_has_been_displayed)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    # ... Explore's charts' plotly.js chunk is found before the server listens (the file is read once), and
    # Streamlit's first-element check (an inspect.stack() over every loaded module) is not left to the first visitor.
    assert out.stdout.split() == ["True", "False", "True", "1", "True"]


def test_attnrec_app_hands_its_arguments_to_streamlit_run_app_py(monkeypatch):
    from streamlit.web import cli as streamlit_cli

    from attnrec import cli
    from attnrec.app import serve

    seen = {}

    def fake_streamlit_main(prog_name=None):
        seen["argv"] = list(sys.argv)
        raise SystemExit(0)  # Streamlit's click command ends the process this way

    monkeypatch.setattr(serve, "warm_up", lambda: 0.0)
    monkeypatch.setattr(streamlit_cli, "main", fake_streamlit_main)
    monkeypatch.setattr(sys, "argv", ["attnrec"])
    code = cli.main(["app", "--server.port", "8599", "--", "--workspace", "/tmp/w"])
    assert code == 0
    assert seen["argv"] == [
        "streamlit",
        "run",
        str(ROOT / "app.py"),
        "--server.port",
        "8599",
        "--",
        "--workspace",
        "/tmp/w",
    ]


def test_attnrec_app_without_a_checkout_says_so(monkeypatch, capsys, tmp_path):
    from attnrec.app import serve

    monkeypatch.setattr(serve, "APP_SCRIPT", tmp_path / "app.py")
    assert serve.main([]) == 2
    assert "app.py not found" in capsys.readouterr().err


def test_figures_after_the_warm_up_are_the_json_of_figures_without_it():
    """The warm-up builds throw-away figures first (Plotly validates its template once per process): a figure
    built in a fresh process without the warm-up is the same JSON."""
    code = (
        "import json, sys, numpy as np, plotly.io as pio\n"
        "if sys.argv[1] == 'warm':\n"
        "    from attnrec.app.serve import warm_up; warm_up()\n"
        "from attnrec.figures import attention_heatmap\n"
        "w = np.array([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])\n"
        "print(pio.to_json(attention_heatmap(w, ['a', 'b', 'c'], 'A_U: test', uniform=1 / 3)))\n"
    )
    outputs = []
    for mode in ("warm", "cold"):
        out = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        outputs.append(json.loads(out.stdout))
    assert outputs[0] == outputs[1]
    z = outputs[0]["data"][0]["z"]  # Plotly sends arrays base64-encoded
    shape = [int(n) for n in z["shape"].split(",")]
    values = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(shape)
    assert np.allclose(values, [[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])


def test_the_server_command_serves_app_py_as_the_readme_says():
    assert server_command("py", "app.py", 8501)[:4] == ["py", "-m", "attnrec", "app"]
    assert server_command("py", "app.py", 8501, "streamlit")[:5] == ["py", "-m", "streamlit", "run", "app.py"]
    assert server_command("py", "trivial.py", 8501)[:5] == ["py", "-m", "streamlit", "run", "trivial.py"]
    assert "8501" in server_command("py", "app.py", 8501)
    with pytest.raises(ValueError, match="launch"):
        server_command("py", "app.py", 8501, "uvicorn")


def test_the_warm_up_loads_what_the_sidebar_opens_with():
    """The dataset and model `attnrec app` loads before the server listens are the ones a fresh session opens
    with, and the page then uses the very objects the warm-up cached (no second load)."""
    from streamlit.testing.v1 import AppTest

    from attnrec.app import serve, session

    warmed = serve.warm_default_view()
    dataset_name, model_name = warmed.split("/")
    path = session.checkpoint_index()[model_name]["path"]
    cached = session.load_model(path, "cpu")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    assert not at.exception
    assert at.session_state["attnrec_dataset"] == dataset_name
    assert at.session_state[f"attnrec_model_{dataset_name}"] == model_name
    assert session.load_model(path, "cpu") is cached


def test_a_broken_sample_is_left_for_the_page_to_report(monkeypatch):
    from attnrec.app import serve, session

    def broken(reference):
        raise ValueError("unreadable sample")

    monkeypatch.setattr(session, "load_builtin_dataset", broken)
    assert serve.warm_default_view() is None


def test_attnrec_app_help_skips_the_warm_up(monkeypatch, capsys):
    from streamlit.web import cli as streamlit_cli

    from attnrec.app import serve

    def no_warm_up():
        raise AssertionError("--help must not import or load anything first")

    seen = {}

    def fake_streamlit_main(prog_name=None):
        seen["argv"] = list(sys.argv)
        raise SystemExit(0)

    monkeypatch.setattr(serve, "warm_up", no_warm_up)
    monkeypatch.setattr(streamlit_cli, "main", fake_streamlit_main)
    monkeypatch.setattr(sys, "argv", ["attnrec"])
    assert serve.main(["--help"]) == 0
    assert seen["argv"][-1] == "--help"
    assert "usage: attnrec app" in capsys.readouterr().err


def test_no_page_needs_streamlit_magic():
    """.streamlit/config.toml turns magic off (it rewrote each page's syntax tree on its first run in a process):
    that changes nothing only while every bare expression statement in the app is a call (which magic leaves alone)
    or a docstring."""
    import ast
    import tomllib

    assert tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["runner"]["magicEnabled"] is False
    scripts = [ROOT / "app.py", *sorted((ROOT / "app_pages").glob("*.py"))]
    assert len(scripts) > 5
    shown = []
    for script in scripts:
        for node in ast.walk(ast.parse(script.read_text())):
            body = getattr(node, "body", None)
            for index, statement in enumerate(body if isinstance(body, list) else []):
                if not isinstance(statement, ast.Expr) or isinstance(statement.value, ast.Call | ast.Await):
                    continue
                docstring = index == 0 and isinstance(statement.value, ast.Constant)
                if not (docstring and isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef)):
                    shown.append(f"{script.name}:{statement.lineno}")
    assert shown == []
