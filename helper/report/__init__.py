"""Reporters: each takes the one RunResult and writes one sink. The envelope calls them in
this order, each isolated, so a failing one only logs a warning."""

from helper.report import logfiles, mail, metrics, state, webhook

REPORTERS = (state, metrics, mail, webhook, logfiles)
