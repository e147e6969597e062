# The production image. Build and run (SQLite in the volume pep-data, no other setting needed):
#   docker build -t pep-catalogue .
#   docker run -p 8000:8000 -v pep-data:/data pep-catalogue
# The same command as the Procfile's web line serves; `alembic upgrade head` is the release step.
# A worker of its own (docs/deploying.md) is this image with the Procfile's worker line as its command:
#   docker run --env-file .env pep-catalogue python -m saq app.worker.settings --quiet

# Any Debian-like image whose `python3` is the version in .python-version.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# A virtualenv works the same whether the base keeps Python in /usr/local (the official image) or /usr (Debian's).
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /app
# Only what the app needs at run time (the test and lint tools are in requirements-dev.txt).
COPY requirements.txt ./
RUN pip install --no-cache-dir --disable-pip-version-check -r requirements.txt

# The code stays root's and read-only to the server; only /data is the server's to write.
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir /data && chown app:app /data
COPY alembic.ini ./
COPY alembic ./alembic
COPY app ./app
RUN python -m compileall -q app alembic

# SQLite, unless DATABASE_URL says otherwise, in /data: mount a volume there to keep the data beyond the
# container. No VOLUME instruction: Railway refuses to build a Dockerfile that has one, and it would leave an
# anonymous volume behind for every container that uses PostgreSQL.
ENV DATABASE_URL=sqlite:////data/pep_viewer.db \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# Numeric, so platforms that refuse root can verify it is not.
USER 10001:10001
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % (os.environ.get('PORT') or 8000), timeout=4)"]

# `exec` makes uvicorn PID 1 in place of the shell, so SIGTERM reaches it and it shuts down gracefully.
CMD ["sh", "-c", "exec uvicorn app.main:app --host 0.0.0.0 --port \"${PORT:-8000}\" --workers \"${WEB_CONCURRENCY:-1}\" --forwarded-allow-ips \"${FORWARDED_ALLOW_IPS:-127.0.0.1,::1,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,fd00::/8}\""]
