"""Reporters: each takes the one RunResult and writes one sink. The envelope calls them in
this order, each isolated, so a failing one only logs a warning. Each imports its library
(prometheus-client, jinja2, requests) where it uses it, so a run pays only for the sinks it has."""

from helper.report import lock_metrics, logfiles, mail, metrics, state, webhook

# logfiles comes last: it copies the finished run log, and a line logged after it (a reporter's
# warning) would be missing from the copy.
REPORTERS = (state, metrics, lock_metrics, mail, webhook, logfiles)
