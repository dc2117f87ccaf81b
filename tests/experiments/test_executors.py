"""Runs sent to executors: a process pool and a real dask.distributed LocalCluster give the serial numbers."""

import concurrent.futures

import numpy as np
import pytest

from stability.errors import InputTypeError
from stability.experiments import ExperimentError, TrainingConfig, run_experiment

CFG = TrainingConfig(hidden=8, batch=4, seq_len=16, tau=4, taus=(4, 8), steps=6, eval_every=3, heldout_chars=300,
                     max_chars=5000, seeds=(0, 1), variance_windows=2, variance_draws=2)


def _fingerprint(res):
    """Every number of every run (wall times excluded), in a fixed order."""
    out = []
    for run in res.runs:
        out.append((run.strategy.key, run.seed, run.diverged))
        out.extend((r.loss, r.grad_norm, r.clipped, r.backward_steps) for r in run.steps)
        out.extend((r.perplexity, r.train_perplexity, r.backward_steps, r.characters) for r in run.evals)
        out.extend((r.step, r.tau, r.fraction) for r in run.lags)
        if run.variance is not None:
            out.append((run.variance.xi_variance, run.variance.data_variance))
    return out


@pytest.fixture(scope="module")
def serial():
    return run_experiment(CFG)


def test_task_partition_does_not_change_any_number(serial):
    """One seed per task (as on an executor) gives bit-identical runs to all seeds in one batch."""
    split = run_experiment(CFG, seeds_per_task=1)
    assert _fingerprint(split) == _fingerprint(serial)


def test_process_pool_equals_serial(serial):
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        res = run_experiment(CFG, executor=pool)
    assert res.executor == "ProcessPoolExecutor"
    assert _fingerprint(res) == _fingerprint(serial)


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(serial):
    """A real distributed.LocalCluster (2 worker processes) returns bit-identical runs."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            res = run_experiment(CFG, executor=client.get_executor())
    assert _fingerprint(res) == _fingerprint(serial)
    assert len(res.runs) == len(serial.runs)


class _Failing(concurrent.futures.Executor):
    """An executor whose second task is lost (its future raises, as a dead worker's does)."""

    def __init__(self):
        self.n = 0

    def submit(self, fn, *args, **kwargs):
        self.n += 1
        fut = concurrent.futures.Future()
        if self.n == 2:
            fut.set_exception(RuntimeError("worker lost"))
        else:
            fut.set_result(fn(*args, **kwargs))
        return fut


class _Dropping(concurrent.futures.Executor):
    """An executor that silently returns no runs for one task."""

    def __init__(self):
        self.n = 0

    def submit(self, fn, *args, **kwargs):
        self.n += 1
        fut = concurrent.futures.Future()
        fut.set_result(() if self.n == 1 else fn(*args, **kwargs))
        return fut


def test_a_lost_task_is_reported_never_missing():
    with pytest.raises(ExperimentError, match="worker lost"):
        run_experiment(CFG, executor=_Failing())
    with pytest.raises(ExperimentError, match="missing"):
        run_experiment(CFG, executor=_Dropping())
    with pytest.raises(InputTypeError, match="`executor`"):
        run_experiment(CFG, executor="localhost:8786")


def test_report_flags_build_the_executor(tmp_path, capsys):
    """`--workers N` makes a process pool for the study; --workers with --scheduler, or a bad N, exit 2 with one line."""
    from stability.cli import main
    from stability.experiments.executors import default_executor, make_executor, using_executor

    with make_executor(workers=2) as ex, using_executor(ex):
        assert isinstance(default_executor(), concurrent.futures.ProcessPoolExecutor)
        res = run_experiment(CFG)
        assert res.executor == "ProcessPoolExecutor"
    assert default_executor() is None
    code = main(["report", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1", "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "--workers or --scheduler" in err and "\n" not in err
    code = main(["report", "--workers", "0", "--out", str(tmp_path / "r")])
    assert code == 2
