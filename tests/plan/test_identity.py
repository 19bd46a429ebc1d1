"""Identity at the plan level: protection lifted (R11) and TF numbers replaced (R1.5).

``tests/integration/test_identity.py`` keeps the rest on SQLite and PostgreSQL: that a protected
person leaves no trace in any table or output, and the rekey and merge commands.
"""

from __future__ import annotations

from pathlib import Path

from schoolsync.domain.settings import Settings
from tests.builder import PNR, school
from tests.plan.harness import PlanDirectory

PSEUDONYMISE = Settings.model_validate({"sync": {"protected_identity": "pseudonymise"}})


def test_r11_when_protection_is_lifted_the_same_account_gets_the_real_data_back(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    b.get(ids["omar"])["securityMarking"] = "Skyddad folkbokföring"
    directory.sync(b.write(tmp_path / "a"), settings=PSEUDONYMISE)
    pseudonym = next(u for u in directory.export()["users"] if u["given_name"] == "Skyddad")
    b.get(ids["omar"])["securityMarking"] = "Ingen"
    directory.sync(b.write(tmp_path / "b"), settings=PSEUDONYMISE)
    omar = directory.user(PNR[1])
    assert omar["id"] == pseudonym["id"] and omar["given_name"] == "Omar"


def test_r1_5_a_tf_number_replaced_by_a_personnummer_is_merged(
    directory: PlanDirectory, tmp_path: Path
) -> None:
    b, ids = school()
    noah = b.student("Noah", "Karlsson", "20120315TF01", ids["unit"])
    directory.sync(b.write(tmp_path / "a"))
    first = directory.user("20120315TF01")
    b.get(noah)["civicNo"]["value"], b.get(noah)["id"] = "201203152382", "another-register-id"
    result = directory.sync(b.write(tmp_path / "b"))
    merged = next(i for i in result.issues if i.code == "tf-number-merged")
    assert "20120315-****" in merged.message and "201203152382" not in merged.message
    assert directory.user("201203152382")["id"] == first["id"]
    assert result.changes["users"]["created"] == 0
