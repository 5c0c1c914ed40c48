"""The one table of every environment variable the helper reads.

It drives parsing (helper.settings), masking (secret values) and the environment
reference in docs/ (scripts/gen-env-docs). Add a variable here and nowhere else, except a
job's schedule: each job declares its own `*_CRON` variable (helper/workers/<job>.py),
and the registry of jobs adds those rows (helper.workers.settings_table).
"""

from dataclasses import dataclass

from helper.restic_facts import MINIMUM_OBSERVATION_WINDOW, REFRESHABILITY_TIMEOUT
from helper.settings import kinds


@dataclass(frozen=True)
class Setting:
    """One environment variable.

    `restic` says how restic sees it: "native" when restic reads the variable (and its
    _FILE twin) itself, "export" when the helper hands the resolved value to restic.
    """

    name: str
    kind: kinds.Kind
    default: str
    help: str
    group: str
    secret: bool = False
    restic: str | None = None
    # False when NAME_FILE is a setting of its own (the shell image's RESTORE_TEST_CANARY_FILE
    # names a sha256sum file, not a file holding RESTORE_TEST_CANARY's value).
    file_twin: bool = True
    # The shell image's deprecated name of the variable (SYNC_JOB_FILE for REPLICATE_JOB_FILE),
    # read with a warning while this one is unset or empty.
    old_name: str = ""

    @property
    def attribute(self) -> str:
        return self.name.lower()


def _observation_window(raw: str) -> float:
    """A duration no shorter than the observation that proves another host's lock stale safely."""
    seconds = kinds.parse_duration(raw)
    if seconds < MINIMUM_OBSERVATION_WINDOW:
        minimum = kinds.format_duration(MINIMUM_OBSERVATION_WINDOW)
        timeout = kinds.format_duration(REFRESHABILITY_TIMEOUT)
        raise ValueError(
            f"must be at least {minimum}, got {raw!r}: restic notices "
            f"that its lock was removed only after {timeout} without a refresh"
        )
    return seconds


# A timeout of 0 would make smtplib and requests wait forever, or not at all.
TIMEOUT_SECONDS = kinds.count_from(1)


def _cloud_secret(name: str, help_text: str) -> Setting:
    return Setting(name, kinds.TEXT, "", help_text, "Repository", secret=True, restic="export")


SETTINGS: tuple[Setting, ...] = (
    # Repository
    Setting(
        "RESTIC_REPOSITORY",
        kinds.TEXT,
        "/mnt/restic",
        "Repository location. Credentials inside it are masked everywhere. "
        "RESTIC_REPOSITORY_FILE takes the first line that is not blank or a # comment.",
        "Repository",
        restic="export",
    ),
    Setting(
        "RESTIC_PASSWORD",
        kinds.TEXT,
        "",
        "Repository password. restic reads RESTIC_PASSWORD_FILE and "
        "RESTIC_PASSWORD_COMMAND itself; one of the three must be set.",
        "Repository",
        secret=True,
        restic="native",
    ),
    Setting(
        "RESTIC_BIN", kinds.TEXT, "restic", "The restic executable (a name on PATH or a path).", "Repository"
    ),
    Setting(
        "RESTIC_CHECK_REPOSITORY_STATUS",
        kinds.BOOLEAN,
        "ON",
        "At scheduler start, probe the repository with `restic --no-lock cat config` and "
        "run `restic init` only when restic says it does not exist (exit 10).",
        "Repository",
    ),
    Setting(
        "PROBE_TIMEOUT",
        kinds.DURATION,
        "2m",
        "How long the start-up probe retries network, DNS or TLS failures before exit 1.",
        "Repository",
    ),
    Setting(
        "RESTIC_STUCK_REQUEST_TIMEOUT",
        kinds.TIME_LIMIT,
        "",
        "restic's `--stuck-request-timeout` (restic ≥ 0.17.1; empty: restic's 5m): how long one "
        "request may go unanswered before restic retries it. The run goes on retrying; a job's "
        "`<JOB>_TIMEOUT` is what ends it.",
        "Repository",
    ),
    Setting(
        "RESTIC_ALLOW_EPHEMERAL_REPOSITORY",
        kinds.BOOLEAN,
        "OFF",
        "Let the start-up probe and /bin/init-repo create a local repository in the container's "
        "own writable layer or in memory (tmpfs), where it vanishes with the container. For "
        "throwaway tests only: OFF refuses with exit 2 and names the volume to mount.",
        "Repository",
    ),
    Setting(
        "NFS_TARGET",
        kinds.TEXT,
        "",
        "An NFS export (`host:/path`) that the container mounts on /mnt/restic at start, as the "
        "shell image did; needs CAP_SYS_ADMIN. Without it the container refuses to start (exit "
        "2): mount the export as a volume instead.",
        "Repository",
    ),
    _cloud_secret("AWS_SECRET_ACCESS_KEY", "S3 secret key (masked; AWS_SECRET_ACCESS_KEY_FILE works)."),
    _cloud_secret("AWS_SESSION_TOKEN", "S3 temporary session token (masked)."),
    _cloud_secret("B2_ACCOUNT_KEY", "Backblaze B2 key (masked)."),
    _cloud_secret("AZURE_ACCOUNT_KEY", "Azure storage key (masked)."),
    _cloud_secret("AZURE_ACCOUNT_SAS", "Azure SAS token (masked)."),
    _cloud_secret("GOOGLE_ACCESS_TOKEN", "Google Cloud Storage token (masked)."),
    _cloud_secret("OS_PASSWORD", "OpenStack Swift password (masked)."),
    _cloud_secret("OS_APPLICATION_CREDENTIAL_SECRET", "OpenStack application credential secret (masked)."),
    _cloud_secret("OS_AUTH_TOKEN", "OpenStack Swift auth token (masked)."),
    _cloud_secret("ST_KEY", "Swift v1 key (masked)."),
    _cloud_secret("RESTIC_REST_PASSWORD", "REST server password (masked)."),
    # Jobs
    Setting(
        "RESTIC_TAG",
        kinds.TEXT,
        "automated",
        "Tag given to every backup (`--tag`). An empty tag makes /bin/backup exit 2.",
        "Jobs",
    ),
    Setting("BACKUP_ROOT_DIR", kinds.TEXT, "", "Path given to `restic backup` as its last argument.", "Jobs"),
    Setting(
        "RESTIC_JOB_ARGS",
        kinds.ARGUMENTS,
        "",
        "Extra `restic backup` arguments, split like shell words (quotes work).",
        "Jobs",
    ),
    Setting(
        "RESTIC_FORGET_ARGS",
        kinds.ARGUMENTS,
        "",
        "Retention policy for `restic forget`, e.g. `--keep-daily 7 --keep-weekly 4`. "
        "Used by /bin/forget and by the inline forget after a backup.",
        "Jobs",
    ),
    Setting("RESTIC_PRUNE_ARGS", kinds.ARGUMENTS, "", "Extra `restic prune` arguments.", "Jobs"),
    Setting(
        "RESTIC_CHECK_ARGS",
        kinds.ARGUMENTS,
        "",
        "Extra `restic check` arguments, e.g. `--read-data-subset 5%`.",
        "Jobs",
    ),
    Setting(
        "RESTIC_AUTO_UNLOCK",
        kinds.BOOLEAN,
        "OFF",
        "After a failed backup, check or prune, remove locks the helper proves stale. "
        "Never after forget's exit 11. Keep OFF on shared repositories.",
        "Jobs",
    ),
    # Schedules: each job's *_CRON row comes first, declared by the job (helper.workers).
    Setting(
        "TZ",
        kinds.ZONE,
        "Europe/Amsterdam",
        "Time zone for schedules and timestamps (an IANA name).",
        "Schedules",
    ),
    Setting(
        "STOP_GRACE_SECONDS",
        kinds.COUNT,
        "50",
        "On SIGTERM, how long running jobs get to stop cleanly before SIGKILL. Keep it "
        "below compose's stop_grace_period.",
        "Schedules",
    ),
    Setting(
        "SCHEDULE_JITTER",
        kinds.DURATION,
        "0",
        "Delay each job's runs by a fixed share of this window (e.g. `10m`), taken from the "
        "host name and the job, so hosts that share a schedule do not all start at once. The "
        "same host and job get the same delay at every start. 0: no delay.",
        "Schedules",
    ),
    Setting(
        "MISSED_RUN_POLICY",
        kinds.choice("skip", "once"),
        "skip",
        "What a scheduler start does about ticks that passed while it was not running: skip "
        "them, or run each job whose last tick was missed once, right after the start-up probe.",
        "Schedules",
    ),
    Setting(
        "ENV_FILE",
        kinds.TEXT,
        "",
        "A KEY=VALUE file re-read on SIGHUP to reload the schedules. Empty: SIGHUP is ignored.",
        "Schedules",
    ),
    # Locks
    Setting(
        "SCHEDULE_LOCK_WAIT",
        kinds.DURATION,
        "0",
        "How long a scheduled run may wait in total for the run lock and repository locks "
        "(`--lock-wait` for manual runs). 0 skips at once.",
        "Locks",
    ),
    Setting(
        "LOCK_FORCE_INACTIVE",
        kinds.BOOLEAN,
        "OFF",
        "Take over a run lock whose holder is gone, and remove repository locks the helper "
        "proves stale when they block a run.",
        "Locks",
    ),
    Setting(
        "RESTIC_LOCK_RETRY_AFTER",
        kinds.DURATION,
        "1m",
        "How often a run retries a repository lock while its wait budget lasts. "
        "0 turns repository lock management off.",
        "Locks",
    ),
    Setting(
        "RESTIC_STALE_LOCK_AGE",
        kinds.DURATION,
        "2h",
        "With LOCK_FORCE_INACTIVE, the age from which a blocking lock is examined for "
        "removal. 0 turns repository lock management off.",
        "Locks",
    ),
    Setting(
        "LOCK_OBSERVATION_WINDOW",
        kinds.Kind("duration", _observation_window),
        "25m",
        "How long the helper must watch another host's lock stay unchanged before it calls "
        "the lock stale. At least 25m: restic 0.15+ checks that its lock still exists only "
        "after 22m30s without a refresh, so a holder paused for less would run on without it.",
        "Locks",
    ),
    Setting(
        "LOCK_DOCKER_AWARE",
        kinds.BOOLEAN,
        "OFF",
        "Treat a lock whose hostname is a gone or stopped container of this Docker engine "
        "as stale (needs the Docker socket).",
        "Locks",
    ),
    # Hooks
    Setting("HOOKS_DIR", kinds.TEXT, "/hooks", "Where pre-<job>.sh and post-<job>.sh live.", "Hooks"),
    Setting(
        "HOOK_TIMEOUT",
        kinds.COUNT,
        "0",
        "Seconds a hook may run before its whole process group is killed. 0: no limit.",
        "Hooks",
    ),
    # Reporting
    Setting("LOG_DIR", kinds.TEXT, "/var/log", "Per-run logs and last-<job>.json.", "Reporting"),
    Setting("LOCK_DIR", kinds.TEXT, "/var/run/restic-helper", "Local run lock files.", "Reporting"),
    Setting(
        "METRICS_DIR",
        kinds.TEXT,
        "",
        "Directory for Prometheus textfiles restic_<job>.prom. Empty: none.",
        "Reporting",
    ),
    Setting("RESTIC_BACKUP_HELPER_RELEASE", kinds.TEXT, "unknown", "Release string in reports.", "Reporting"),
    Setting(
        "TEMPLATES_DIR",
        kinds.TEXT,
        "/config/templates",
        "Overrides for mail.txt.j2, mail-subject.txt.j2 and webhook.json.j2.",
        "Reporting",
    ),
    # Mail
    Setting("MAILX_RCPT", kinds.TEXT, "", "Mail recipient(s), comma separated. Empty: no mail.", "Mail"),
    Setting(
        "MAILX_ON_ERROR",
        kinds.BOOLEAN,
        "OFF",
        "Mail only for runs that exit non-zero (a skipped run exits 0).",
        "Mail",
    ),
    Setting(
        "SMTP_HOST", kinds.TEXT, "", "SMTP server. Empty: pipe to SENDMAIL_BIN when it is executable.", "Mail"
    ),
    Setting("SMTP_PORT", kinds.PORT, "25", "SMTP port.", "Mail"),
    Setting("SMTP_TLS", kinds.choice("off", "starttls", "tls"), "off", "SMTP transport security.", "Mail"),
    Setting("SMTP_USER", kinds.TEXT, "", "SMTP login user. Empty: no login.", "Mail"),
    Setting("SMTP_PASSWORD", kinds.TEXT, "", "SMTP login password.", "Mail", secret=True),
    Setting("SMTP_FROM", kinds.TEXT, "", "Sender address. Empty: restic-helper@<hostname>.", "Mail"),
    Setting("SMTP_TIMEOUT", TIMEOUT_SECONDS, "30", "Seconds before an SMTP delivery gives up.", "Mail"),
    Setting(
        "SENDMAIL_BIN",
        kinds.TEXT,
        "/usr/sbin/sendmail",
        "sendmail-compatible program (msmtp works) used when SMTP_HOST is empty.",
        "Mail",
    ),
    # Webhook
    Setting(
        "WEBHOOK_URL",
        kinds.TEXT,
        "",
        "POST target for the run document. Empty: no webhook. Masked in logs.",
        "Webhook",
        secret=True,
    ),
    Setting(
        "WEBHOOK_HEADER_AUTH", kinds.TEXT, "", "Value of the Authorization header.", "Webhook", secret=True
    ),
    Setting(
        "WEBHOOK_FORMAT",
        kinds.choice("json", "slack", "discord", "teams", "ntfy", "gotify", "matrix"),
        "json",
        "The webhook's body: the run document (json), or the message of a chat or push service "
        "(status, host, job, duration, key figures, the masked log tail). "
        "TEMPLATES_DIR/webhook.json.j2 wins over both.",
        "Webhook",
    ),
    Setting("WEBHOOK_TIMEOUT", TIMEOUT_SECONDS, "10", "Seconds per webhook attempt.", "Webhook"),
    Setting(
        "WEBHOOK_ON_ERROR",
        kinds.BOOLEAN,
        "OFF",
        "Post only for runs that exit non-zero (a skipped run exits 0).",
        "Webhook",
    ),
    Setting(
        "WEBHOOK_RETRIES",
        kinds.COUNT,
        "2",
        "Extra attempts after a connection error or a 5xx answer.",
        "Webhook",
    ),
    # Pings
    Setting(
        "HEALTHCHECK_URL",
        kinds.TEXT,
        "",
        "The backup's ping URL (healthchecks.io check, Uptime Kuma push URL, Cronitor telemetry "
        "URL): pinged when a backup starts, succeeds and fails. Other jobs have their own "
        "HEALTHCHECK_URL_<JOB>, as one check follows one schedule. Masked: it is a secret.",
        "Pings",
        secret=True,
    ),
    Setting(
        "HEALTHCHECK_STYLE",
        kinds.choice("healthchecks", "uptime-kuma", "cronitor"),
        "healthchecks",
        "How the ping URLs are spoken to: healthchecks.io's /start, /fail and /<exit code>; "
        "Uptime Kuma's ?status=up|down; Cronitor's ?state=run|complete|fail.",
        "Pings",
    ),
    Setting("HEALTHCHECK_TIMEOUT", TIMEOUT_SECONDS, "10", "Seconds per ping attempt.", "Pings"),
    Setting(
        "HEALTHCHECK_RETRIES",
        kinds.COUNT,
        "2",
        "Extra attempts after a connection error or a 5xx answer; a ping never changes a run's exit code.",
        "Pings",
    ),
)

BY_NAME = {setting.name: setting for setting in SETTINGS}
