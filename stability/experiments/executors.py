"""Where experiment runs execute: any `concurrent.futures.Executor`, chosen once for a whole study.

`run_experiment(config, executor=...)` takes an executor directly.  A study
(``stability report --workers N`` or ``--scheduler ADDRESS``) sets one for
every experiment it runs with `using_executor`; `default_executor` is what
`run_experiment` uses when given none (``None``: in this process).

`make_executor` builds one from the command-line settings:

* ``workers=N`` — a local ``ProcessPoolExecutor`` with N processes;
* ``scheduler="tcp://host:8786"`` — the executor of a ``dask.distributed``
  ``Client`` connected to a running scheduler (needs the ``cluster`` extra:
  ``pip install stability[cluster]``).  Dask retries a task whose worker
  died (``allowed_failures``); a task that still fails raises
  `ExperimentError` in `run_experiment`, never a silently missing run.
"""

from __future__ import annotations

import contextlib
import contextvars

from .._validate import as_int, describe
from ..errors import InputTypeError, InputValueError

__all__ = ["default_executor", "using_executor", "make_executor"]

_DEFAULT: contextvars.ContextVar = contextvars.ContextVar("stability_executor", default=None)


def default_executor():
    """The executor set by `using_executor` (None: run in this process)."""
    return _DEFAULT.get()


@contextlib.contextmanager
def using_executor(executor):
    """Within the block, `run_experiment` sends its tasks to *executor* unless given another."""
    if executor is not None and not hasattr(executor, "submit"):
        raise InputTypeError(f"`executor` must be a concurrent.futures.Executor; got {describe(executor)}.")
    token = _DEFAULT.set(executor)
    try:
        yield executor
    finally:
        _DEFAULT.reset(token)


@contextlib.contextmanager
def make_executor(*, workers: int | None = None, scheduler: str | None = None):
    """A process pool (*workers*) or a dask.distributed client's executor (*scheduler* address), closed on exit.

    Examples
    --------
    >>> with make_executor() as ex:
    ...     print(ex)
    None
    """
    if workers is not None and scheduler is not None:
        raise InputValueError("give either `workers` or `scheduler`, not both.")
    if scheduler is not None:
        if not isinstance(scheduler, str) or not scheduler.strip():
            raise InputValueError(f"`scheduler` must be an address such as 'tcp://127.0.0.1:8786'; got {describe(scheduler)}.")
        try:
            import distributed
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise InputValueError(
                "`scheduler` needs dask.distributed: pip install 'stability[cluster]'."
            ) from exc
        client = distributed.Client(scheduler, timeout=30)
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    if workers is not None:
        import concurrent.futures

        n = as_int("workers", workers, minimum=1)
        with concurrent.futures.ProcessPoolExecutor(n) as pool:
            yield pool
        return
    yield None
