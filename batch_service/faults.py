"""Seeded fault injection for reliability tests (off by default).

Configuration (from --faults or PUT /_local/faults): {"seed": int, "rate": 0..1, "kinds": [...], "retryAfter": s}.
For each API request one random draw decides whether a fault happens and a second picks its kind among those
that apply to the method, so the same seed and the same request sequence give the same faults:
    "503"  answer 503 ServerBusy with Retry-After, change nothing
    "429"  answer 429 TooManyRequests with Retry-After, change nothing
    "drop" close the connection before doing anything
    "lost" do the request, then close the connection without answering (writes only: not GET/HEAD)
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

KINDS = ("503", "429", "drop", "lost")
_READ_METHODS = frozenset({"GET", "HEAD"})


class FaultConfigError(ValueError):
    """The fault configuration JSON is not acceptable; the message says why."""


@dataclass(frozen=True)
class FaultConfig:
    """A validated fault configuration."""

    seed: int = 0
    rate: float = 0.0
    kinds: tuple[str, ...] = ()
    retry_after: int = 1

    @classmethod
    def parse(cls, raw: Any) -> FaultConfig:
        """Validate the JSON object of --faults / PUT /_local/faults."""
        if not isinstance(raw, dict):
            raise FaultConfigError("the fault configuration must be a JSON object")
        unknown = set(raw) - {"seed", "rate", "kinds", "retryAfter"}
        if unknown:
            raise FaultConfigError(f"unknown keys: {sorted(unknown)}")
        seed, rate = raw.get("seed", 0), raw.get("rate", 0.0)
        kinds, retry_after = raw.get("kinds", list(KINDS)), raw.get("retryAfter", 1)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise FaultConfigError("seed must be an integer")
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0.0 <= rate <= 1.0:
            raise FaultConfigError("rate must be a number from 0 to 1")
        if not isinstance(kinds, list) or any(kind not in KINDS for kind in kinds):
            raise FaultConfigError(f"kinds must be a list drawn from {list(KINDS)}")
        if not isinstance(retry_after, int) or isinstance(retry_after, bool) or retry_after < 0:
            raise FaultConfigError("retryAfter must be a whole number of seconds, 0 or more")
        return cls(seed, float(rate), tuple(kinds), retry_after)


@dataclass
class FaultInjector:
    """Decides, per API request, whether and how to misbehave; counts what it did."""

    config: FaultConfig = field(default_factory=FaultConfig)
    requests: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))

    def __post_init__(self) -> None:
        self._random = random.Random(self.config.seed)

    def configure(self, config: FaultConfig) -> None:
        """Use a new configuration, restarting the random sequence from its seed."""
        self.config = config
        self._random = random.Random(config.seed)

    def decide(self, method: str) -> str | None:
        """Count one API request and return the fault kind to apply to it, or None."""
        self.requests += 1
        if self.config.rate <= 0.0 or not self.config.kinds:
            return None
        happens = self._random.random() < self.config.rate
        applicable = [kind for kind in self.config.kinds if kind != "lost" or method.upper() not in _READ_METHODS]
        pick = self._random.randrange(len(applicable)) if applicable else 0
        if not happens or not applicable:
            return None
        kind = applicable[pick]
        self.counts[kind] += 1
        return kind

    def stats(self) -> dict[str, Any]:
        """The body of GET /_local/stats."""
        return {"requests": self.requests, "faults": dict(self.counts)}
