"""Text shared by mail and webhook: the subject line and user-overridable jinja2 templates."""

from pathlib import Path

from helper import workers
from helper.outcome import Status
from helper.result import RunResult
from helper.settings.kinds import format_bytes, format_duration

BUILTIN_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SUBJECT_TAGS = {
    Status.OK: "OK",
    Status.WARNING: "WARN {code}",
    Status.FAILED: "FAIL {code}",
    Status.SKIPPED: "SKIP",
    Status.LOCKED: "LOCKED {code}",
    Status.INTERRUPTED: "INTERRUPTED {code}",
    Status.TIMEOUT: "TIMEOUT {code}",
}


def details(result: RunResult) -> str:
    extras = result.extras
    if result.job == "backup" and extras.get("snapshot_id"):
        added = extras.get("bytes_added")
        amount = (
            f"{format_bytes(added)} new" if added is not None else (f"{extras.get('files_new')} new files")
        )
        return f"{amount} (snap {str(extras['snapshot_id'])[:8]})"
    if result.status in (Status.SKIPPED, Status.LOCKED) and result.error:
        return result.error.split(":")[0]
    return result.repository


def subject(result: RunResult) -> str:
    tag = SUBJECT_TAGS[result.status].format(code=result.exit_code)
    parts = [f"[{tag}] {result.job.capitalize()} {result.hostname}", format_duration(result.duration_seconds)]
    if text := details(result):
        parts.append(text)
    return " · ".join(parts)


STATUS_COLORS = {  # Discord's embed colour, Teams' text colour, ntfy's tag
    Status.OK: (0x2EB67D, "Good", "white_check_mark"),
    Status.WARNING: (0xECB22E, "Warning", "warning"),
    Status.SKIPPED: (0x9E9E9E, "Default", "fast_forward"),
    Status.LOCKED: (0xECB22E, "Warning", "lock"),
    Status.FAILED: (0xE01E5A, "Attention", "x"),
    Status.INTERRUPTED: (0xE01E5A, "Attention", "stop_sign"),
    Status.TIMEOUT: (0xE01E5A, "Attention", "hourglass"),
}


def figures(result: RunResult) -> list[tuple[str, str]]:
    """The run's key figures as (name, text): who, what, how it ended, and the job's gauges."""
    shown = [
        ("Host", result.hostname),
        ("Job", result.job),
        ("Status", f"{result.status} (exit {result.exit_code})"),
        ("Duration", format_duration(result.duration_seconds)),
    ]
    if result.extras.get("snapshot_id"):
        shown.append(("Snapshot", str(result.extras["snapshot_id"])[:8]))
    for name in workers.load(result.job).GAUGES:
        value = result.extras.get(name)
        if value is not None:
            text = format_bytes(value) if "bytes" in name else str(value)
            shown.append((name.replace("_", " ").capitalize(), text))
    if result.error:
        shown.append(("Error", result.error))
    return shown


def render(template_name: str, templates_dir: str, result: RunResult, **context: object) -> str | None:
    """Render a template from TEMPLATES_DIR (or the built-in one); None when neither exists.
    Besides `context`, a template sees the result, its document, subject, duration, key figures,
    the masked log tail and its status colours."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([templates_dir, str(BUILTIN_TEMPLATES)]),
        autoescape=False,  # noqa: S701 - plain-text mail and JSON bodies, not HTML
        keep_trailing_newline=True,
    )
    try:
        template = environment.get_template(template_name)
        color, teams_color, ntfy_tag = STATUS_COLORS[result.status]
        return template.render(
            result=result,
            document=result.document(),
            subject=subject(result),
            duration=format_duration(result.duration_seconds),
            figures=figures(result),
            tail=result.log_tail.strip(),
            failed=result.failed and result.status is not Status.WARNING,
            color=color,
            teams_color=teams_color,
            ntfy_tag=ntfy_tag,
            **context,
        )
    except jinja2.TemplateNotFound:
        return None
    except jinja2.TemplateError as error:
        # Only a user's template can be broken; say which one, with jinja2's line number.
        where = f" line {error.lineno}" if getattr(error, "lineno", None) else ""
        raise RuntimeError(f"TEMPLATES_DIR: {template_name}{where}: {error.message or error}") from None
