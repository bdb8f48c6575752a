"""The thread-count tuner's decisions, from given step times (no timing in the test)."""

from __future__ import annotations

import pytest

from chessformer.training.threads import ThreadTuner


def _drive(tuner: ThreadTuner, seconds_for, steps: int) -> list[int]:
    used = []
    for step in range(steps):
        n = tuner.threads_for(step)
        used.append(n)
        tuner.record(step, seconds_for(step, n))
    return used


def test_switches_to_the_faster_count_and_probes_again():
    tuner = ThreadTuner((2, 1), every=20, probe=3, start=5)
    # 1 thread is faster until step 50, then 2 threads are (the other process ended)
    used = _drive(tuner, lambda step, n: (1.0 if n == 1 else 4.0) if step < 50 else
                  (1.0 if n == 1 else 0.5), 100)
    assert used[:5] == [2] * 5 and used[5:8] == [1, 1, 1]  # the first probe
    assert used[8:25] == [1] * 17  # kept: 1 thread won
    assert used[25:28] == [2, 2, 2]  # probing 2 again (still slower before step 50)
    assert used[28] == 1
    assert used[65:68] == [2, 2, 2] and used[68:85] == [2] * 17  # faster after step 50: back to 2
    assert used[85:88] == [1, 1, 1] and used[88:] == [2] * 12  # probed, and 2 stays
    assert tuner.switches == [(8, 1), (68, 2)]


def test_a_small_gain_does_not_switch():
    tuner = ThreadTuner((2, 1), every=10, probe=2, start=2, margin=0.1)
    used = _drive(tuner, lambda step, n: 1.0 if n == 2 else 0.95, 40)
    assert tuner.switches == [] and used[-1] == 2


def test_needs_two_counts():
    with pytest.raises(ValueError):
        ThreadTuner((2, 2))
