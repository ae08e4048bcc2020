"""show_config says plainly whether the kernels run in parallel."""

import io

import boltz
import boltz.utils._threads as threads


def test_show_config_names_the_openmp_runtime():
    out = io.StringIO()
    config = boltz.show_config(file=out)
    if config["openmp"]:
        assert config["openmp_runtime"] is not None
        assert f"on ({config['openmp_runtime']})" in out.getvalue()
    else:
        assert "run serially" in out.getvalue()


def test_show_config_says_when_the_kernels_run_serially(monkeypatch):
    monkeypatch.setattr(threads, "openmp_enabled", lambda: False)
    monkeypatch.setattr(threads, "effective_n_threads", lambda n_jobs=None: 1)
    out = io.StringIO()
    config = boltz.show_config(file=out)
    text = out.getvalue()
    assert config["openmp"] is False and config["openmp_runtime"] is None
    assert "OpenMP:         OFF: the kernels were compiled without OpenMP and run " \
           "serially, on one thread whatever n_jobs says" in text
    assert "kernel threads: 1 (serial build)" in text
