"""The one executor option: inline, local processes, a concurrent.futures pool, dask."""
import functools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bandit_lab._parallel import check_executor, describe_executor, map_blocks


def _draw(seed_and_n):
    """A piece of random work whose stream travels with the piece."""
    seed, n = seed_and_n
    return np.random.default_rng(seed).random(n).sum()


def _fail_on_three(x):
    if x == 3:
        raise ValueError("three")
    return x


PIECES = [(s, 1000) for s in np.random.SeedSequence(7).spawn(6)]


def test_inline_processes_and_pools_agree():
    expected = [_draw(p) for p in PIECES]
    assert map_blocks(_draw, PIECES) == expected
    assert map_blocks(_draw, PIECES, executor=2) == expected
    with ThreadPoolExecutor(3) as pool:
        assert map_blocks(_draw, PIECES, executor=pool) == expected


def test_results_keep_the_pieces_order_and_report_progress():
    seen = []
    out = map_blocks(functools.partial(pow, 2), range(8), executor=2,
                     on_result=lambda i, r: seen.append((i, r)))
    assert out == [2 ** k for k in range(8)]
    assert sorted(seen) == list(enumerate(out))


def test_a_failing_piece_raises_its_own_error():
    with pytest.raises(ValueError, match="three"):
        map_blocks(_fail_on_three, range(6), executor=2)
    with pytest.raises(ValueError, match="three"):
        map_blocks(_fail_on_three, range(6))


@pytest.mark.parametrize("bad,err", [(0, ValueError), (-2, ValueError), ("threads", ValueError),
                                     (True, TypeError), (2.5, TypeError), (object(), TypeError)])
def test_bad_executors_are_named(bad, err):
    with pytest.raises(err, match="executor"):
        check_executor(bad)
    with pytest.raises(err, match="executor"):
        map_blocks(abs, [1], executor=bad)


def test_describe():
    assert describe_executor(None) == "in this process"
    assert describe_executor(3) == "3 local worker processes"
    assert "8786" in describe_executor("tcp://127.0.0.1:8786")


@pytest.mark.slow
def test_dask_local_cluster_over_loopback_gives_the_same_results():
    distributed = pytest.importorskip("distributed")
    expected = [_draw(p) for p in PIECES]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster:
        with distributed.Client(cluster) as client:
            assert map_blocks(_draw, PIECES, executor=client) == expected
        # a scheduler address: a client is connected for the call only
        assert map_blocks(_draw, PIECES, executor=cluster.scheduler_address) == expected
