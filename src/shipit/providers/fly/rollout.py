"""A rolling update of one process group, advanced one health probe at a time, and its undo.

``deploy`` plans the rollout and writes its first batch: the first existing machine alone (or the
first new machine). Each ``health`` probe reads the app's machines once; when every machine of the
current batch runs the new image, is ``started`` and passes its checks, the next batch is written:
the other machines in batches of a third (flyctl's default ``max_unavailable``), then new machines
up to ``replicas``. The engine owns the clock; nothing here sleeps. Machines that were stopped
are updated without launching them (they stay stopped, as flyctl does).

A failed machine (``failed``, ``destroyed``), a crash in its events, or an unrequested exit fails
the probe at once. Fly never rolls a machine back by itself, so ``undo`` gives every machine
shipit changed its previous config again; where Fly already shows the previous image (the update
never applied), the machine is only started again if it ran before. Machines created by a
failed deploy are destroyed, unless there was nothing to go back to (first deploy).
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from shipit.errors import ProviderAPIError
from shipit.providers.fly import parse
from shipit.providers.fly.machines import ConfigBuilder, Machines

LAUNCHED_STATES: Final = frozenset({"started", "starting", "failed"})
BATCH_SHARE: Final = 0.33
Verdict = Literal["pending", "failed", "done"]


@dataclass
class Step:
    """One machine of the rollout: an update of an existing machine or a new machine."""

    action: Literal["update", "create"]
    machine_id: str | None = None
    previous: dict[str, Any] | None = None
    previous_version: str | None = None
    was_running: bool = True
    tag: str = ""
    attempts: int = 0
    version: str | None = None
    written: bool = False
    done: bool = False

    @property
    def launch(self) -> bool:
        """True when the machine must end up started."""
        return self.action == "create" or self.was_running

    @property
    def label(self) -> str:
        """How messages name the machine."""
        return f"machine {self.machine_id}" if self.machine_id else "a new machine"


@dataclass
class Rollout:
    """The plan and progress of one deploy of one process group."""

    id: str
    app: str
    group: str
    region: str
    builder: ConfigBuilder
    batches: list[list[Step]]
    retire: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    template: dict[str, Any] | None = None
    min_secrets_version: int | None = None
    index: int = 0

    @property
    def first_deploy(self) -> bool:
        """True when the group had no machines before (nothing to roll back to)."""
        return all(step.action == "create" for step in self.steps)

    @property
    def steps(self) -> list[Step]:
        """Every step, in order."""
        return [step for batch in self.batches for step in batch]

    @property
    def finished(self) -> bool:
        """True when every batch is written and came up."""
        return self.index >= len(self.batches)

    @property
    def machine_ids(self) -> list[str]:
        """The machines written so far."""
        return [s.machine_id for s in self.steps if s.machine_id and s.written]


def plan(
    *,
    deploy_id: str,
    app: str,
    group: str,
    region: str,
    builder: ConfigBuilder,
    existing: list[dict[str, Any]],
    replicas: int,
    min_secrets_version: int | None,
) -> Rollout:
    """The batches that bring ``existing`` machines (oldest first) to ``replicas`` on the image."""
    usable = [m for m in existing if parse.config_of(m) is not None]
    skipped = [str(m["id"]) for m in existing if parse.config_of(m) is None]
    keep, retire = usable[:replicas], usable[replicas:]
    updates = [
        Step(
            "update",
            machine_id=str(m["id"]),
            previous=copy.deepcopy(parse.config_of(m)),
            previous_version=str(m.get("instance_id") or "") or None,
            was_running=str(m.get("state")) in LAUNCHED_STATES,
        )
        for m in keep
    ]
    creates = [Step("create", tag=parse.ulid()) for _ in range(replicas - len(keep))]
    batches: list[list[Step]] = []
    if updates:
        batches.append(updates[:1])
        rest = updates[1:]
        size = max(1, math.ceil(len(updates) * BATCH_SHARE))
        batches.extend(rest[i : i + size] for i in range(0, len(rest), size))
        if creates:
            batches.append(creates)
    else:
        batches.append(creates[:1])
        if creates[1:]:
            batches.append(creates[1:])
    return Rollout(
        id=deploy_id,
        app=app,
        group=group,
        region=region,
        builder=builder,
        batches=batches,
        retire=[str(m["id"]) for m in retire],
        skipped=skipped,
        template=copy.deepcopy(parse.config_of(keep[0])) if keep else None,
        min_secrets_version=min_secrets_version,
    )


class Roller:
    """Writes, watches and undoes rollouts through the Machines API."""

    def __init__(self, machines: Machines, before_create: Callable[[], None]) -> None:
        self.machines = machines
        self.before_create = before_create

    def write_batch(self, rollout: Rollout) -> None:
        """Write every step of the current batch that is not written yet (never twice)."""
        if rollout.finished:
            return
        for step in rollout.batches[rollout.index]:
            if step.written:
                continue
            step.attempts += 1
            if step.action == "update":
                assert step.previous is not None
                assert step.machine_id is not None
                answer = self.machines.update(
                    {"id": step.machine_id, "instance_id": step.previous_version},
                    rollout.builder.updated(step.previous),
                    launch=step.launch,
                    min_secrets_version=rollout.min_secrets_version,
                )
            else:
                self.before_create()
                answer = self.machines.create(
                    rollout.builder.fresh(rollout.template),
                    region=rollout.region,
                    tag=step.tag,
                    min_secrets_version=rollout.min_secrets_version,
                    again=step.attempts > 1,
                )
                step.machine_id = str(answer["id"])
            step.version = str(answer.get("instance_id") or "") or None
            step.written = True

    def probe(self, rollout: Rollout) -> tuple[Verdict, str]:
        """One look at the machines: ``failed``, ``pending``, or ``done`` with every batch up.

        When the current batch is up, the next one is written (and the answer is pending).
        """
        if not rollout.finished and any(not s.written for s in rollout.batches[rollout.index]):
            self.write_batch(rollout)
        found = {str(m.get("id")): m for m in self.machines.all()}
        steps = rollout.steps if rollout.finished else rollout.batches[rollout.index]
        waiting: list[str] = []
        for step in steps:
            verdict, detail = judge(step, found.get(str(step.machine_id)), rollout.builder.image)
            if verdict == "failed":
                return "failed", detail
            if verdict == "pending":
                waiting.append(detail)
            else:
                step.done = True
        if waiting:
            more = f" (and {len(waiting) - 2} more)" if len(waiting) > 2 else ""
            return "pending", "; ".join(waiting[:2]) + more
        if not rollout.finished:
            rollout.index += 1
            if not rollout.finished:
                self.write_batch(rollout)
                done = sum(1 for s in rollout.steps if s.done)
                return "pending", f"{done} of {len(rollout.steps)} machines on the new image"
        return "done", f"{len(rollout.steps)} machine(s) on the new image"

    def undo(self, rollout: Rollout) -> list[str]:
        """Put every machine shipit changed back on its previous config; the problems left."""
        problems: list[str] = []
        try:
            found = {str(m.get("id")): m for m in self.machines.all()}
        except ProviderAPIError as error:
            return [f"cannot list the machines: {error}"]
        for step in rollout.steps:
            if not step.written or step.machine_id is None:
                continue
            try:
                self._undo_step(rollout, step, found.get(step.machine_id))
            except ProviderAPIError as error:
                problems.append(f"{step.label}: {error}")
        return problems

    def _undo_step(self, rollout: Rollout, step: Step, machine: dict[str, Any] | None) -> None:
        assert step.machine_id is not None
        if step.action == "create":
            if machine is not None and not rollout.first_deploy:
                self.machines.destroy(step.machine_id)
            return
        if machine is None:
            raise ProviderAPIError("fly", "the machine is gone; it cannot be restored")
        assert step.previous is not None
        previous_image = parse.image_of({"config": step.previous})
        if parse.same_image(parse.image_of(machine), previous_image):
            if step.was_running and str(machine.get("state")) in {"stopped", "suspended"}:
                self.machines.start(step.machine_id)
            return
        restored = copy.deepcopy(step.previous)
        restored["metadata"] = {
            **(restored.get("metadata") or {}),
            parse.META_RESTORED: rollout.id,
        }
        self.machines.update(
            machine,
            restored,
            launch=step.was_running,
            min_secrets_version=rollout.min_secrets_version,
        )

    def retire(self, rollout: Rollout) -> None:
        """Destroy the machines beyond ``replicas`` once the new ones are healthy."""
        for machine_id in rollout.retire:  # a failure leaves one machine too many: harmless
            with contextlib.suppress(ProviderAPIError):
                self.machines.destroy(machine_id)


def judge(step: Step, machine: Mapping[str, Any] | None, image: str) -> tuple[Verdict, str]:
    """Whether one machine of the rollout is up on ``image``, still coming, or failed."""
    if not step.written:
        return "pending", f"{step.label}: not written yet"
    if machine is None:
        return "failed", f"{step.label} is gone"
    label = step.label
    state = str(machine.get("state"))
    reason = parse.crash(machine)
    if state in parse.BROKEN:
        return "failed", f"{label} is {state}" + (f": {reason}" if reason else "")
    if reason:
        return "failed", f"{label}: {reason}"
    running = parse.image_of(machine)
    if running and not parse.same_image(running, image):
        version = str(machine.get("instance_id") or "")
        if not version or version == step.previous_version:
            return "pending", f"{label}: the update does not show yet"
        return "failed", f"{label} runs {running}, not the deployed image (another deploy?)"
    if not step.launch:
        return "done", f"{label}: updated, kept {state}"
    if state in {"stopped", "suspended"}:
        exited = parse.last_exit(machine)
        if exited is None:
            return "pending", f"{label}: {state}"
        if exited["requested"]:
            return "done", f"{label}: {state} by the proxy (autostop)"
        return "failed", f"{label}: the process exited with code {exited['code']}"
    if state != "started":
        return "pending", f"{label}: {state}"
    verdict, detail = parse.checks(machine)
    if verdict == "passing":
        return "done", f"{label}: {detail}"
    return "pending", f"{label}: {detail}"
