"""Settings (``schoolsync.toml``): read with :mod:`tomllib` and checked against the model in
:mod:`schoolsync.domain.settings`, so a wrong value is reported with its place in the file. No file
means all defaults.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from schoolsync.domain.settings import Settings
from schoolsync.errors import ConfigError

DEFAULT_CONFIG_FILE = "schoolsync.toml"


def load_settings(path: Path | None) -> Settings:
    """Load settings from a TOML file.

    Args:
        path: The file, or None for ``schoolsync.toml`` in the working directory if present.

    Returns:
        The settings (all defaults when there is no file).

    Raises:
        ConfigError: When the file is missing (if named), not TOML, or has a wrong value.
    """
    explicit = path is not None
    path = path or Path(DEFAULT_CONFIG_FILE)
    if not path.exists():
        if explicit:
            raise ConfigError(
                f"The settings file {path} does not exist.", "Check the --config path."
            )
        return Settings()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"The settings file {path} is not valid TOML: {exc}.") from exc
    except RecursionError as exc:
        raise ConfigError(
            f"The settings file {path} is nested too deeply to be read (arrays or tables "
            f"inside each other thousands of levels deep).",
            "See the Settings section of the README for what the file holds.",
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The settings file {path} cannot be read: {exc}.") from exc
    try:
        return Settings.model_validate(data)
    except RecursionError as exc:
        raise ConfigError(
            f"The settings file {path} holds a value nested too deeply to be checked.",
            "See the Settings section of the README for the allowed values.",
        ) from exc
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ConfigError(
            f"The settings file {path} has a wrong value at {where}: {err['msg']}.",
            "See the Settings section of the README for the allowed values.",
        ) from exc
