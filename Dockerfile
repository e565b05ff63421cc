# sbwatch container image. Build: docker build -t sbwatch .
# Run:  docker run -d --name sbwatch -p 127.0.0.1:9464:9464 \
#         -v /etc/sbwatch/config.toml:/etc/sbwatch/config.toml:ro \
#         -v sbwatch-state:/var/lib/sbwatch \
#         -v /etc/sbwatch/credentials:/run/secrets:ro sbwatch
# Secrets: the config's "cred:NAME" reads /run/secrets/NAME (Docker/Compose secrets).
# See docs/service.md for the systemd service, the preferred way to run sbwatch on a host.

# --- build: the wheel and the locked, hashed dependency list
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 UV_PYTHON_DOWNLOADS=never
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY src ./src
RUN uv build --wheel --out-dir /dist \
 && uv export --frozen --no-dev --no-emit-project --format requirements-txt -o /dist/requirements.txt

# --- runtime: the wheel on a slim Python, as an unprivileged user
FROM python:3.11-slim
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    STATE_DIRECTORY=/var/lib/sbwatch \
    CREDENTIALS_DIRECTORY=/run/secrets \
    SBWATCH_LOG_FORMAT=json \
    SBWATCH_METRICS__LISTEN=0.0.0.0
COPY --from=build /dist /tmp/dist
RUN pip install --no-cache-dir --require-hashes -r /tmp/dist/requirements.txt \
 && pip install --no-cache-dir --no-deps /tmp/dist/sbwatch-*.whl \
 && rm -rf /tmp/dist \
 && groupadd --system --gid 10001 sbwatch \
 && useradd --system --uid 10001 --gid sbwatch --home-dir /var/lib/sbwatch --no-create-home \
      --shell /usr/sbin/nologin sbwatch \
 && install -d -o sbwatch -g sbwatch -m 0700 /var/lib/sbwatch \
 && install -d -m 0755 /etc/sbwatch
USER sbwatch:sbwatch
WORKDIR /var/lib/sbwatch
VOLUME ["/var/lib/sbwatch"]
EXPOSE 9464
# Healthy while the metrics endpoint answers (no curl in the slim image).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:9464/metrics', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["sbwatch", "--config", "/etc/sbwatch/config.toml"]
CMD ["run"]
