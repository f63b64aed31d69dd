# One image for web, worker, beat and the one-shot loader (see docker-compose.yml).
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 DJANGO_STATIC_MANIFEST=true
WORKDIR /app
# What mysqlclient needs to build, from the project's one list of system packages.
COPY scripts/bootstrap scripts/system-packages.txt scripts/
RUN scripts/bootstrap build && rm -rf /var/lib/apt/lists/*
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input -v0 \
 && useradd --create-home app && mkdir -p /app/media /app/var && chown -R app /app/media /app/var
USER app

EXPOSE 8000
ENTRYPOINT ["docker/entrypoint.sh"]
CMD ["web"]
