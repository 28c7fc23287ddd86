"""A fake clock for retry and client tests: time moves only when the code under test sleeps."""
from __future__ import annotations


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        """Record the sleep and advance the clock instead of waiting."""
        self.sleeps.append(float(seconds))
        self.now += seconds

    def clock(self) -> float:
        """The current fake time."""
        return self.now
