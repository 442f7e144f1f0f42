from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One measured number, with the target the issue set for it (if any)."""

    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = True
    note: str = ""

    @property
    def target_missed(self) -> bool:
        if self.target is None:
            return False
        return self.value < self.target if self.higher_is_better else self.value > self.target

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "value": round(self.value, 3),
            "unit": self.unit,
            "target": self.target,
            "target_met": None if self.target is None else not self.target_missed,
            "note": self.note,
        }

    def __str__(self) -> str:
        goal = ""
        if self.target is not None:
            sign = ">=" if self.higher_is_better else "<="
            verdict = "MISSED" if self.target_missed else "ok"
            goal = f"  (target {sign} {self.target:g} {self.unit}: {verdict})"
        note = f"  [{self.note}]" if self.note else ""
        return f"{self.name}: {self.value:,.1f} {self.unit}{goal}{note}"
