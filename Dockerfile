# Production image for Recovery: gunicorn serves Django; the same image runs the Celery worker,
# Celery beat and the one-shot migrate job (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    DEBUG=false \
    MEDIA_ROOT=/data/media

# Shared libraries and fonts WeasyPrint needs to render letters (Pango, HarfBuzz incl. its subsetter,
# DejaVu fonts, MIME database). Nothing else: no compilers, no curl.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz0b \
        libharfbuzz-subset0 \
        fonts-dejavu-core \
        shared-mime-info \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 recovery \
    && useradd --system --uid 10001 --gid recovery --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin recovery

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so this layer is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# The whole project: templates/ and static/ are used from the working directory, so the app runs
# from /app; the packages are also installed so that their metadata and entry points exist.
COPY . .
RUN pip install --no-cache-dir . \
    && rm -rf build ./*.egg-info

# Collect static files at build time. The settings refuse to start with DEBUG=false and an empty or
# built-in secret, so this one command gets explicit throwaway values that never leave the build.
RUN SECRET_KEY=build-only-collectstatic-throwaway-key \
    FIELD_ENCRYPTION_KEY=build-only-collectstatic-throwaway-key \
    DEBUG=false \
    python manage.py collectstatic --noinput

# The code stays root-owned and read-only for the app user; only var/ and /data (uploads and
# generated PDFs, MEDIA_ROOT=/data/media, a volume in docker-compose.yml) are writable.
RUN mkdir -p /app/var /data/media \
    && chown -R recovery:recovery /app/var /data

USER recovery

EXPOSE 8000

# /healthz answers 200 "ok" without authentication. slim has no curl, so use urllib. The
# X-Forwarded-Proto header keeps an SSL redirect from failing the check when the settings trust it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; r = u.Request('http://127.0.0.1:8000/healthz', headers={'X-Forwarded-Proto': 'https'}); sys.exit(0 if u.urlopen(r, timeout=4).status == 200 else 1)"]

# The access log records the path only (%(U)s), never the query string: searches carry names.
CMD ["gunicorn", "recovery.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", "--access-logformat", "%(h)s %(t)s \"%(m)s %(U)s\" %(s)s %(b)s %(L)s"]
