"""Parse the environment once into frozen Settings, collecting every problem at once.

Each variable may instead come from a file named by its `NAME_FILE` twin (container
secrets). A problem never stops the parse: the broken variable keeps its default, so an
early exit can still write its audit trail where LOG_DIR points.

A variable the shell image knew by another name (`Setting.old_name`: SYNC_JOB_FILE for
REPLICATE_JOB_FILE) is read under that name while the new one is unset or empty, and each use
of an old name leaves a warning that names the new one.
"""

import dataclasses
import functools
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

from helper import mounts
from helper.masking import Masker
from helper.settings import checks
from helper.settings.table import BY_NAME, SETTINGS, Setting


@dataclass(frozen=True)
class Settings:
    """Typed values by attribute name (`settings.restic_tag`), plus what restic's child needs."""

    values: Mapping[str, object]
    restic_environment: Mapping[str, str]
    secrets: tuple[str, ...]
    hostname: str
    # Each starts with the variable it concerns (an old name in use), as problems do.
    warnings: tuple[str, ...] = ()

    @functools.cached_property
    def masker(self) -> Masker:
        """The process's one masker: every sink masks with it."""
        return Masker.from_secrets(self.secrets)

    def __getattr__(self, attribute: str) -> object:
        try:
            return self.values[attribute]
        except KeyError:
            raise AttributeError(attribute) from None


def apply_time_zone(settings: Settings) -> None:
    """Make local timestamps (logs, JSON) follow TZ, whose default lives in the table."""
    os.environ["TZ"] = settings.tz
    time.tzset()


def displayed(settings: Settings, setting: Setting) -> str:
    """A setting's effective value as a report may show it: masked, and never a secret's."""
    value = settings.values.get(setting.attribute)
    if setting.secret:
        return "set (secret, not shown)" if value else "not set"
    text = " ".join(value) if isinstance(value, tuple) else str(value)
    return settings.masker.mask(text) if text else "empty"


def first_meaningful_line(text: str) -> str:
    """Return the first line that is neither blank nor a # comment, as the shell image did."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped
    return ""


def read_raw(setting: Setting, environment: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Given a setting, return (raw value or None when unset, problem or None)."""
    direct = environment.get(setting.name)
    file_name = environment.get(setting.name + "_FILE", "") if setting.file_twin else ""
    if not file_name:
        return direct, None
    # The image exports some defaults (RESTIC_REPOSITORY=/mnt/restic): a _FILE twin overrides them.
    if direct and direct != setting.default:
        # The direct value still stands in, so the early exit's audit lands where the user looks.
        return direct, f"{setting.name}: set either {setting.name} or {setting.name}_FILE, not both"
    try:
        with open(file_name, encoding="utf-8") as handle:
            content = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        return None, f"{setting.name}_FILE: cannot read {file_name}: {error}"
    if setting.name == "RESTIC_REPOSITORY":
        return first_meaningful_line(content), None
    return content.rstrip("\r\n"), None


def read_renamed(
    setting: Setting, environment: Mapping[str, str]
) -> tuple[str | None, str | None, str | None]:
    """Given a setting, return (raw value or None, problem or None, warning or None), reading
    its old name while the new one is unset or empty."""
    raw, problem = read_raw(setting, environment)
    old = setting.old_name
    if not old or not (environment.get(old) or environment.get(old + "_FILE")):
        return raw, problem, None
    if raw or problem:
        return raw, problem, f"{old} is ignored because {setting.name} is set: remove {old}"
    raw, problem = read_raw(dataclasses.replace(setting, name=old), environment)
    return raw, problem, f"{old} is deprecated: rename it to {setting.name} (its value is used meanwhile)"


def extended(rows: tuple[Setting, ...]) -> tuple[Setting, ...]:
    """Return the table with `rows` added at the head of their group (a new group goes last),
    the order of the environment reference."""
    table: list[Setting] = []
    pending = list(rows)
    for setting in SETTINGS:
        table += [row for row in pending if row.group == setting.group]
        pending = [row for row in pending if row.group != setting.group]
        table.append(setting)
    return (*table, *pending)


# The image keeps restic's cache in IMAGE_CACHE. The shell image kept it in LEGACY_CACHE, where
# its users mounted cache volumes: such a volume, when mounted, is used rather than abandoned.
IMAGE_CACHE = "/var/cache/restic"
LEGACY_CACHE = "/.cache/restic"


def restic_child_environment(
    values: Mapping[str, object], environment: Mapping[str, str], table: tuple[Setting, ...] = SETTINGS
) -> dict[str, str]:
    """Return the environment for restic: the process's own, plus values it cannot read itself,
    less the secrets that are none of restic's business (mail and webhook credentials)."""
    child = dict(environment)
    if child.get("RESTIC_CACHE_DIR") == IMAGE_CACHE and mounts.is_mount_point(LEGACY_CACHE):
        child["RESTIC_CACHE_DIR"] = LEGACY_CACHE
    for setting in table:
        if setting.secret and setting.restic is None:
            for name in filter(None, (setting.name, setting.old_name)):
                child.pop(name, None)
                child.pop(name + "_FILE", None)
        if setting.restic != "export":
            continue
        child.pop(setting.name + "_FILE", None)
        value = values[setting.attribute]
        if value:
            child[setting.name] = str(value)
    return child


def load(
    environment: Mapping[str, str] | None = None, table: tuple[Setting, ...] = SETTINGS
) -> tuple[Settings, tuple[str, ...]]:
    """Given an environment (default: this process's) and the table of variables (default: all
    but the jobs' schedules), return the Settings and every problem."""
    environment = dict(os.environ if environment is None else environment)
    values: dict[str, object] = {}
    problems: list[str] = []
    warnings: list[str] = []
    for setting in table:
        raw, problem, warning = read_renamed(setting, environment)
        if problem:
            problems.append(problem)
        if warning:
            warnings.append(warning)
        try:
            values[setting.attribute] = setting.kind.parse(setting.default if raw is None else raw)
        except ValueError as error:
            problems.append(f"{setting.name}: {error}")
            values[setting.attribute] = setting.kind.parse(setting.default)
    # A variable that already has a problem (a _FILE conflict or unreadable file) gets no
    # second, contradictory "not set" message.
    named = {problem.split(":", 1)[0].removesuffix("_FILE") for problem in problems}
    problems.extend(
        problem for problem in checks.check(values, environment) if problem.split(":", 1)[0] not in named
    )
    secrets = tuple(
        str(values[setting.attribute]) for setting in table if setting.secret and values[setting.attribute]
    )
    settings = Settings(
        values=values,
        restic_environment=restic_child_environment(values, environment, table),
        secrets=secrets,
        hostname=environment.get("HOSTNAME") or os.uname().nodename,
        warnings=tuple(warnings),
    )
    return settings, tuple(problems)


__all__ = [
    "BY_NAME",
    "SETTINGS",
    "Setting",
    "Settings",
    "apply_time_zone",
    "extended",
    "load",
]
