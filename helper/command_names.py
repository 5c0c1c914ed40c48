"""How a container argument names a built-in command: `forget`, `/bin/forget` and
`config-check` name the commands `forget` and `config_check`, but `/opt/x/forget` is the
operator's own program. The entrypoint dispatches by it, and the health check reads the
container's command line by it."""

from helper import workers

# Where the image installs its executables.
BUILT_IN_DIRECTORIES = ("/bin/", "/usr/bin/")


def command_name(word: str) -> str:
    """Given the container's first argument, return the built-in command it names, or ""."""
    for directory in BUILT_IN_DIRECTORIES:
        word = word.removeprefix(directory)
    return "" if "/" in word else word.replace("-", "_")


def one_shot_worker(arguments: list[str]) -> str:
    """Given the container's arguments, return the worker a one-shot run starts, or ""."""
    return (workers.named(command_name(arguments[0])) or "") if arguments else ""
