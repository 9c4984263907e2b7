# drtool in a container, for the Kubernetes CronJob and the ECS task in deploy/.
# Build from the repository root, so the drill files and features go in with drtool:
#   docker build -f deploy/docker/Dockerfile -t registry.example.com/drtool:0.1.0 .
# Run it as the schedules do:
#   docker run --rm -e AWS_REGION -e AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY -e AWS_SESSION_TOKEN \
#     registry.example.com/drtool:0.1.0 run drills/monthly.yaml --junit-xml /reports/junit.xml

# Build a wheel apart, so no build tool reaches the image that runs.
FROM python:3.12-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY drtool/ drtool/
COPY features/ features/
COPY drills/ drills/
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels \
    && groupadd --gid 10001 drtool \
    && useradd --uid 10001 --gid 10001 --create-home --shell /usr/sbin/nologin drtool \
    && mkdir -p /reports && chown drtool:drtool /reports
WORKDIR /home/drtool
# Your drill files and the features they name, at the paths the drill files give (../features/...).
COPY --chown=drtool:drtool drills/ drills/
COPY --chown=drtool:drtool features/ features/
# Numeric, so Kubernetes' runAsNonRoot can verify it.
USER 10001:10001
ENV DRTOOL_JOURNAL_DIR=/reports/journal
ENTRYPOINT ["drtool"]
CMD ["run", "drills/monthly.yaml", "--junit-xml", "/reports/junit.xml", "--report-dir", "/reports"]
