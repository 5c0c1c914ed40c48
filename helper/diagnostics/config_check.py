"""`config-check [--json]`: validate every setting, ENV_FILE and each schedule (with croniter),
print every problem and warning, and exit 0, or 2 when there is any problem. Starts nothing."""

import argparse
import json
import sys

from helper.outcome import EXIT_CONFIG_ERROR
from helper.scheduler import config


def main(argv: list[str]) -> int:
    """Given `[--json]`, print the verdict on the configuration and return 0 or 2."""
    parser = argparse.ArgumentParser(prog="config-check", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    options = parser.parse_args(argv)
    plan = config.load()
    if options.json:
        document = {"ok": not plan.problems, "errors": list(plan.problems), "warnings": list(plan.warnings)}
        sys.stdout.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    else:
        for problem in plan.problems:
            sys.stdout.write(f"❌ {problem}\n")
        for warning in plan.warnings:
            sys.stdout.write(f"⚠️ {warning}\n")
        verdict = "OK" if not plan.problems else f"{len(plan.problems)} error(s)"
        sys.stdout.write(f"config-check: {verdict}, {len(plan.warnings)} warning(s)\n")
    return EXIT_CONFIG_ERROR if plan.problems else 0
