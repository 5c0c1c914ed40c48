#!/bin/sh
# A stub, as in the shell image's smoke stack: it leaves a trace and succeeds.
echo "pre-check hook ran (exit code ${1:-none})"
