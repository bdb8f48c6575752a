"""Torch's CPU thread count chosen by measuring training steps, again and again.

    >>> tuner = ThreadTuner((2, 1), every=100, probe=3)   # doctest: +SKIP
    >>> for step in ...:
    ...     torch.set_num_threads(tuner.threads_for(step)); ...; tuner.record(step, seconds)

Why: on a 2-core machine where another process keeps one core busy, a training step of the
``small`` preset took 4.5 s with 2 threads and 1.2 s with 1 (measured with the ``tactics`` head
and the legal softmax, 12 steps each, alternated): every parallel operation waits at its barrier
for the thread the other process has descheduled. On idle cores 2 threads are faster. What else
runs can change during a run, so the choice is measured again every ``every`` steps: ``probe``
steps with the other count, compared with the ``probe`` steps just before them (medians); a switch
needs a gain of ``margin``.
"""

from __future__ import annotations

import statistics

__all__ = ["ThreadTuner"]


class ThreadTuner:
    def __init__(self, candidates: tuple[int, ...], every: int = 100, probe: int = 3,
                 start: int = 10, margin: float = 0.1) -> None:
        if len(set(candidates)) < 2:
            raise ValueError(f"need two different thread counts, got {candidates}")
        self.current, self.other = candidates[0], candidates[1]
        self.every, self.probe, self.start, self.margin = every, probe, start, margin
        self._times: dict[int, list[float]] = {}
        self.switches: list[tuple[int, int]] = []  # (step, new thread count)

    def _probing(self, step: int) -> bool:
        return step >= self.start and (step - self.start) % self.every < self.probe

    def threads_for(self, step: int) -> int:
        """The thread count to use for ``step``."""
        return self.other if self._probing(step) else self.current

    def record(self, step: int, seconds: float) -> None:
        """The time ``step`` took; after a probe's last step, keep the faster count."""
        if self._probing(step):
            self._times.setdefault(self.other, []).append(seconds)
            if (step - self.start) % self.every == self.probe - 1:
                self._decide(step)
        else:
            self._times[self.current] = (self._times.get(self.current, []) + [seconds])[
                -self.probe:]

    def _decide(self, step: int) -> None:
        mine = self._times.get(self.current, [])
        probe = self._times.pop(self.other, [])
        if len(mine) < self.probe or len(probe) < self.probe:
            return
        if statistics.median(probe) < (1 - self.margin) * statistics.median(mine):
            self.current, self.other = self.other, self.current
            self.switches.append((step + 1, self.current))
            self._times = {self.current: probe[-self.probe:]}
