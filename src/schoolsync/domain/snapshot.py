"""The snapshot: everything one run read from its sources, as plain records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schoolsync.domain.records import RegisterSnapshot
from schoolsync.domain.schedule import ScheduleSnapshot


@dataclass
class Snapshot:
    """What one run read: at most one register, and any number of schedules (the sources fill
    it; the plan reads it and never changes it)."""

    register: RegisterSnapshot | None = None
    schedules: list[ScheduleSnapshot] = field(default_factory=list)

    def describe(self) -> list[dict[str, Any]]:
        """The sources as the run report names them; the register with its record counts, so
        the next run can tell a kind of data that went missing (R10)."""
        out: list[dict[str, Any]] = []
        if self.register is not None:
            counts = {k: self.register.counts.get(k, 0) for k in sorted(self.register.kinds)}
            entry: dict[str, Any] = {"format": "ss12000", "path": self.register.source}
            entry["records"] = counts
            if self.register.api is not None:
                entry["api"] = self.register.api
            out.append(entry)
        for snap in self.schedules:
            if snap.source == "ss12000":
                continue
            out.append({"format": "novaschem", "path": snap.path, "encoding": snap.encoding,
                        "source": snap.source})  # fmt: skip
        return out
