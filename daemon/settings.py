"""One typed settings object: defaults, then a config file, then ``REAMEND_*`` env, then CLI flags.

``REAMEND_HOME`` is the root of everything reamend writes for itself (hot
folder, job database, logs, API token, caches), so one variable relocates it all
(tests point it at a temporary folder).
"""

from __future__ import annotations

import contextvars
import os
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from models.errors import UserInputError

APP_NAME = "reamend"
_config_file: contextvars.ContextVar[Path | None] = contextvars.ContextVar("reamend_config_file", default=None)


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / "config.toml"


class Settings(BaseSettings):
    """Everything the program can be configured with; see README "Settings"."""

    model_config = SettingsConfigDict(env_prefix="REAMEND_", extra="forbid", frozen=True)

    home: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))
    user_presets_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_config_dir(APP_NAME)) / "presets")
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The control API is loopback-only by design; only the port is configurable.
    api_port: int = Field(default=47017, ge=0, le=65535)
    # Folders (besides home, REAMEND_HOME and the temp folder) whose files API requests may name.
    allowed_roots: tuple[Path, ...] = ()
    reaper_web_port: int = Field(default=2307, ge=1, le=65535)
    reaper_server_port: int = Field(default=2306, ge=1, le=65535)
    reaper_timeout_s: float = Field(default=10.0, gt=0)
    workers: int = Field(default=1, ge=1, le=8)
    torch_threads: int = Field(default=0, ge=0, description="0 = torch's default")

    @field_validator("home", "user_presets_dir", mode="after")
    @classmethod
    def _expand(cls, value: Path) -> Path:
        return value.expanduser()

    @property
    def hot_dir(self) -> Path:
        return self.home / "hot"

    @property
    def db_path(self) -> Path:
        return self.home / "jobs.sqlite3"

    @property
    def log_dir(self) -> Path:
        return self.home / "logs"

    @property
    def api_file(self) -> Path:
        """Port and token of the running daemon, readable by the user only."""
        return self.home / "api.json"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: CLI flags (init) > environment > config file > defaults.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = _config_file.get()
        if config_file is not None and config_file.exists():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
        return tuple(sources)


def load_settings(config_file: Path | None = None, **cli_overrides: Any) -> Settings:
    """Build the settings once at the program's edge and pass them down.

    ``config_file`` defaults to ``$REAMEND_CONFIG`` or the platform's user config file.
    ``None`` values in ``cli_overrides`` mean "flag not given".
    """
    env_file = os.environ.get("REAMEND_CONFIG")
    path = config_file or (Path(env_file) if env_file else default_config_file())
    if config_file is not None and not config_file.exists():
        raise UserInputError(f"config file not found: {config_file}")
    token = _config_file.set(path)
    try:
        return Settings(**{k: v for k, v in cli_overrides.items() if v is not None})
    except Exception as exc:  # pydantic.ValidationError, TOML syntax errors
        raise UserInputError(f"invalid settings: {exc}") from exc
    finally:
        _config_file.reset(token)
