"""The layer rule of docs/development/source-code.md: a module of helper/ imports only from its own
layer or the layers below it, function-level imports included."""

import ast
from pathlib import Path

HELPER = Path(__file__).resolve().parents[2] / "helper"

# Top to bottom, as the source-code map lists them. A module belongs to the first layer with a
# prefix that names it or one of its packages.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("entry", ("helper.__main__", "helper.cli", "helper.entry")),
    ("diagnostics", ("helper.diagnostics",)),
    ("scheduler", ("helper.scheduler",)),
    ("envelope", ("helper.envelope", "helper.closing")),
    ("report", ("helper.report",)),
    ("workers", ("helper.workers", "helper.command_names")),
    ("locks", ("helper.locks",)),
    (
        "runners",
        ("helper.restic", "helper.restic_output", "helper.hooks", "helper.rclone", "helper.delivery"),
    ),
    ("records", ("helper.logs", "helper.result", "helper.settings")),
    (
        "leaves",
        (
            "helper.stop",
            "helper.masking",
            "helper.outcome",
            "helper.files",
            "helper.procfs",
            "helper.mounts",
            "helper.events",
            "helper.schedule",
            "helper.heartbeat",
            "helper.output",
            "helper.restic_facts",
            "helper.clock",
            "helper",
        ),
    ),
)


def layer_of(module: str) -> int:
    for index, (_name, prefixes) in enumerate(LAYERS):
        if any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes):
            return index
    raise AssertionError(f"{module} belongs to no layer: add it to the source-code map and to LAYERS")


def module_name(path: Path) -> str:
    parts = path.relative_to(HELPER.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str) -> set[str]:
    """Every helper module the source imports, at any depth of the code (helper/ uses absolute
    imports only)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "helper/ uses absolute imports"
            # `from helper import restic` names a module; `from helper.x import name` names x.
            found |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return {name for name in found if name.split(".")[0] == "helper"}


def violations(module: str, source: str) -> list[str]:
    own = layer_of(module)
    wrong = []
    for target in sorted(imported_modules(source)):
        try:
            target_layer = layer_of(target)
        except AssertionError:
            continue  # a name imported from a module, not a module
        if target_layer < own:
            wrong.append(f"{module} ({LAYERS[own][0]}) imports {target} ({LAYERS[target_layer][0]})")
    return wrong


def test_no_module_imports_from_a_layer_above_its_own():
    wrong = []
    for path in sorted(HELPER.rglob("*.py")):
        wrong += violations(module_name(path), path.read_text())
    assert wrong == []


def test_every_module_belongs_to_a_layer():
    for path in HELPER.rglob("*.py"):
        layer_of(module_name(path))


def test_an_import_that_runs_back_up_is_caught():
    assert violations("helper.locks.inspect", "from helper.report import metrics\n") == [
        "helper.locks.inspect (locks) imports helper.report (report)",
        "helper.locks.inspect (locks) imports helper.report.metrics (report)",
    ]
    assert violations("helper.settings.table", "def f():\n    import helper.locks.verdict\n")
    assert violations("helper.restic", "from helper.stop import TOKEN\n") == []
