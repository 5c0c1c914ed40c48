# The helper's image with restic's lock timings scaled from minutes to seconds, for the fault
# campaign only: every restic run there lasts seconds, so a lock unchanged for a minute is a
# dead or paused holder's, as one unchanged for 25 minutes is in real use. Users' images keep
# the real timings; nothing a user can set shortens them.
ARG IMAGE=restic-helper:latest
FROM ${IMAGE}
RUN facts=$(python3 -c 'import helper.restic_facts as m; print(m.__file__)') \
    && verdict=$(python3 -c 'import helper.locks.verdict as m; print(m.__file__)') \
    && sed -i -e 's/^REFRESH_INTERVAL = 5 \* 60$/REFRESH_INTERVAL = 10/' \
              -e 's/^MINIMUM_OBSERVATION_WINDOW = 25 \* 60$/MINIMUM_OBSERVATION_WINDOW = 45/' "$facts" \
    && sed -i -e 's/^REFRESH_SLACK = 60$/REFRESH_SLACK = 10/' "$verdict" \
    && grep -qx 'REFRESH_INTERVAL = 10' "$facts" \
    && grep -qx 'MINIMUM_OBSERVATION_WINDOW = 45' "$facts" \
    && grep -qx 'REFRESH_SLACK = 10' "$verdict"
