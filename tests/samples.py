"""The real-world SS 12000 samples of ``tests/data/samples`` as bundle folders, for the field-data
tests at both levels (``tests/plan/test_field_data.py`` and ``tests/integration``).

Skolverket's DNP profile ships Postman request bodies and sample files, not bundles: they are
written into one folder per sample here. The demo-sis samples and the example bundle are folders
already.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import EXAMPLE_BUNDLE, ROOT

SAMPLES = ROOT / "tests" / "data" / "samples"
ENDPOINTS = {"organisations", "persons", "duties", "groups", "activities"}
SAMPLE_NAMES = [
    "example-bundle",
    "demo-sis-minimal",
    "demo-sis-lotr",
    "skolverket-postman-post",
    "skolverket-postman-put",
    "skolverket-sampledata",
    "skolverket-sampledata-invalid",
]


def postman_bodies(collection: Path, method: str) -> dict[str, str]:
    """The request bodies of one method in a Postman collection, by endpoint name."""
    found: dict[str, str] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if "item" in item:
                walk(item["item"])
                continue
            request = item["request"]
            path = request["url"]["path"] if isinstance(request["url"], dict) else []
            body = request.get("body", {}).get("raw", "")
            if request["method"] == method and path and body:
                found.setdefault(path[0], body)

    walk(json.loads(collection.read_text(encoding="utf-8"))["item"])
    return found


def _bundle(folder: Path, bodies: dict[str, str]) -> Path:
    folder.mkdir(parents=True)
    for endpoint, body in bodies.items():
        (folder / f"{endpoint}.json").write_text(body, encoding="utf-8")
    return folder


def skolverket_bundles(tmp_path: Path) -> dict[str, Path]:
    """Skolverket's DNP samples written as bundle folders under ``tmp_path``, by name."""
    root = SAMPLES / "skolverket-dnp"
    collection = root / "Ref-api.postman_collection.json"
    data = root / "sampledata"
    bodies = {
        "postman-post": postman_bodies(collection, "POST"),
        "postman-put": postman_bodies(collection, "PUT"),
        "sampledata": {
            "persons": (data / "person.json").read_text(encoding="utf-8"),
            "groups": (data / "group_json.json").read_text(encoding="utf-8"),
            "activities": (data / "activity.json").read_text(encoding="utf-8"),
        },
        "sampledata-invalid": {
            "activities": (data / "activities_invalid.json").read_text(encoding="utf-8")
        },
    }
    for name in ("postman-post", "postman-put"):
        bodies[name] = {k: v for k, v in bodies[name].items() if k in ENDPOINTS}
    return {name: _bundle(tmp_path / name, b) for name, b in bodies.items()}


def sample_bundles(tmp_path: Path) -> dict[str, Path]:
    """Every sample of :data:`SAMPLE_NAMES` as a bundle folder, by name."""
    out = {"example-bundle": EXAMPLE_BUNDLE}
    for name in ("minimal", "lotr"):
        out[f"demo-sis-{name}"] = SAMPLES / "demo-sis" / name
    out.update({f"skolverket-{k}": v for k, v in skolverket_bundles(tmp_path).items()})
    return out
