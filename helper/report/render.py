"""Text shared by mail and webhook: the subject line and user-overridable jinja2 templates."""

from pathlib import Path

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


def render(template_name: str, templates_dir: str, result: RunResult) -> str | None:
    """Render a template from TEMPLATES_DIR (or the built-in one); None when neither exists."""
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader([templates_dir, str(BUILTIN_TEMPLATES)]),
        autoescape=False,  # noqa: S701 - plain-text mail and JSON bodies, not HTML
        keep_trailing_newline=True,
    )
    try:
        template = environment.get_template(template_name)
        return template.render(
            result=result,
            document=result.document(),
            subject=subject(result),
            duration=format_duration(result.duration_seconds),
        )
    except jinja2.TemplateNotFound:
        return None
    except jinja2.TemplateError as error:
        # Only a user's template can be broken; say which one, with jinja2's line number.
        where = f" line {error.lineno}" if getattr(error, "lineno", None) else ""
        raise RuntimeError(f"TEMPLATES_DIR: {template_name}{where}: {error.message or error}") from None
