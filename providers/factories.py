"""Task factories: many task create bodies from one template, expanded when the program runs.

Expansion is deterministic (same inputs → same task list in the same order), so `pulumi preview` shows the
exact task set that `up` will create. Templates are task create bodies whose strings may hold `{name}`
placeholders (Python format syntax, so `{i:05d}` zero-pads); `{{` and `}}` write literal braces.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from providers.specs import TaskSpec

__all__ = ["FactoryError", "ParametricSweep", "PerItem", "TaskFactory", "with_merge_task"]


class FactoryError(ValueError):
    """A factory cannot expand: names the parameter or placeholder at fault."""


def _fill(template: Any, values: Mapping[str, Any], where: str = "template") -> Any:
    """Format every string in the template with `values`, recursively."""
    if isinstance(template, str):
        try:
            return template.format(**values)
        except KeyError as missing:
            raise FactoryError(f"{where}: placeholder {missing} has no parameter of that name") from None
        except (ValueError, IndexError) as error:
            raise FactoryError(f"{where}: cannot format {template!r}: {error}") from None
    if isinstance(template, dict):
        return {k: _fill(v, values, f"{where}.{k}") for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values, f"{where}[{i}]") for i, v in enumerate(template)]
    return template


class TaskFactory:
    """Something that expands into task create bodies."""

    def expand(self) -> list[TaskSpec]:
        """The task bodies, in a fixed order."""
        raise NotImplementedError


@dataclass(frozen=True)
class ParametricSweep(TaskFactory):
    """One task per point of the Cartesian product of the dimensions, in row-major order.

    `dimensions` maps a name to an integer `range` (start, stop, step like Python's range) or a sequence of
    strings/ints. `template["id"]` must use the placeholders so every task id is distinct.
    """

    template: Mapping[str, Any]
    dimensions: Mapping[str, range | Sequence[Any]]

    def expand(self) -> list[TaskSpec]:
        """Every combination, formatted into the template."""
        if "id" not in self.template:
            raise FactoryError("template.id: required (use placeholders, e.g. 'frame-{i:04d}')")
        names = list(self.dimensions)
        for name in names:
            if len(self.dimensions[name]) == 0:
                raise FactoryError(f"dimensions.{name}: must not be empty")
        combos = itertools.product(*(self.dimensions[n] for n in names))
        return _unique([_fill(dict(self.template), dict(zip(names, combo))) for combo in combos])


@dataclass(frozen=True)
class PerItem(TaskFactory):
    """One task per item of a list (e.g. per input file); placeholders `{item}` and `{index}`."""

    template: Mapping[str, Any]
    items: Sequence[Any]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def expand(self) -> list[TaskSpec]:
        """One body per item, in list order."""
        return _unique([_fill(dict(self.template), {**self.extra, "item": item, "index": index})
                        for index, item in enumerate(self.items)])


def _unique(tasks: list[dict[str, Any]]) -> list[TaskSpec]:
    seen: dict[str, int] = {}
    for index, task in enumerate(tasks):
        key = str(task.get("id", "")).lower()
        if key in seen:
            raise FactoryError(f"task id {task.get('id')!r} is produced twice (items {seen[key]} and {index}): "
                               "add a placeholder to template.id")
        seen[key] = index
    return cast(list[TaskSpec], tasks)


def with_merge_task(tasks: Iterable[Mapping[str, Any]], merge: Mapping[str, Any]) -> list[TaskSpec]:
    """The tasks plus a merge task that depends on all of them.

    The job must be created with `usesTaskDependencies: true` (the service refuses dependsOn otherwise).
    """
    bodies = [dict(t) for t in tasks]
    if "id" not in merge or "commandLine" not in merge:
        raise FactoryError("merge task: needs 'id' and 'commandLine'")
    merged = {**merge, "dependsOn": {"taskIds": [str(t["id"]) for t in bodies]}}
    if sum(len(str(t["id"])) for t in bodies) > 64000:
        merged["dependsOn"] = _as_ranges(bodies)
    return _unique([*bodies, merged])


def _as_ranges(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Depend on many integer ids through ranges (the id list is capped at 64000 chars, batch-api.md 3.9)."""
    try:
        numbers = sorted(int(str(t["id"])) for t in bodies)
    except ValueError:
        raise FactoryError("merge task: more than 64000 characters of parent ids; use integer task ids so "
                           "the dependency can be expressed as ranges") from None
    ranges: list[dict[str, int]] = []
    for number in numbers:
        if ranges and ranges[-1]["end"] + 1 == number:
            ranges[-1]["end"] = number
        else:
            ranges.append({"start": number, "end": number})
    return {"taskIdRanges": ranges}
