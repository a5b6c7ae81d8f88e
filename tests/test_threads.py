"""ATTNREC_THREADS: one place (attnrec.device) decides torch's thread count for the library, the CLI and the app;
the default is one thread, and the count never changes a result."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from attnrec.device import THREADS_ENV, apply_threads, configured_threads, single_cpu_thread

ROOT = Path(__file__).resolve().parents[1]


def test_default_is_one_thread_and_the_variable_sets_it(monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert configured_threads() == 1
    monkeypatch.setenv(THREADS_ENV, " 3 ")
    assert configured_threads() == 3
    for bad in ("0", "-2", "two", "1.5"):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ValueError, match=THREADS_ENV):
            configured_threads()


def test_library_work_runs_on_the_configured_count_and_restores_the_callers(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setenv(THREADS_ENV, "2")
    with single_cpu_thread():
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    monkeypatch.delenv(THREADS_ENV)
    assert apply_threads() == 1 and torch.get_num_threads() == 1  # conftest's fixture puts the count back


def test_thread_count_does_not_change_catalog_scores():
    from attnrec.attention import attention_scores

    generator = torch.Generator().manual_seed(0)
    x, items = torch.randn(16, generator=generator), torch.randn(50_000, 16, generator=generator)
    w_u, w_v = torch.randn(4, 16, 16, generator=generator) / 4, torch.randn(4, 16, 16, generator=generator) / 4
    before = torch.get_num_threads()
    results = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        results.append(attention_scores(x, items, w_u, w_v))
    torch.set_num_threads(before)
    # Each item's S is computed from its own row only: the same bits whatever the thread count.
    assert torch.equal(results[0], results[1])


def test_thread_count_does_not_change_a_trained_baseline_or_the_metrics(monkeypatch):
    from attnrec.baselines import BPRMF
    from attnrec.evaluation import evaluate, leave_one_out
    from test_report import make_dataset, make_model

    dataset = make_dataset(n_users=40, n_items=60)
    split = leave_one_out(dataset, seed=0)
    model = make_model(dataset, d=8)
    runs = []
    for threads in ("1", "2"):
        monkeypatch.setenv(THREADS_ENV, threads)
        apply_threads()
        baseline = BPRMF(split.train, dim=16, epochs=3)
        runs.append((baseline.p.detach().clone(), evaluate(baseline, split), evaluate(model, split)))
    assert torch.equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1] and runs[0][2] == runs[1][2]


def test_cli_refuses_a_bad_thread_count():
    env = {**os.environ, THREADS_ENV: "many"}
    out = subprocess.run(
        [sys.executable, "-m", "attnrec", "evaluate", "--checkpoint", "nowhere"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode != 0 and THREADS_ENV in out.stderr
