# The app as one image: gunicorn on :8000 as a non-root user. See README "Running the image".
#   docker build -t activtrak-scim .

FROM python:3.12-slim AS build
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=activtrak_scim.settings \
    DJANGO_STATIC_ROOT=/srv/activtrak/static \
    GUNICORN_BIND=0.0.0.0:8000
RUN useradd --system --uid 10001 --user-group --home-dir /srv/activtrak --create-home activtrak
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
COPY bin/docker-entrypoint /usr/local/bin/docker-entrypoint
# Static files are collected into the image, so a start only checks them. Settings need their
# secrets to load; these placeholders exist only for this one command.
RUN DJANGO_SECRET_KEY=build SCIM_KEY_HMAC_SECRET=build DJANGO_ALLOWED_HOSTS=build \
    DATABASE_URL=sqlite:///:memory: python -m django collectstatic --noinput -v 0
USER activtrak
WORKDIR /srv/activtrak
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["docker-entrypoint"]
