#!/usr/bin/env bash
# Install the Debian packages the integration tests use (real Dovecot, promtool, amtool,
# Chromium, openssl, pg_dump, and socat and ip for the HA partition test), and start
# PostgreSQL if it is down. Only as root; otherwise it says what is missing and leaves the
# machine alone.
set -euo pipefail
need=()
command -v dovecot >/dev/null || need+=(dovecot-imapd)
command -v promtool >/dev/null || need+=(prometheus)
command -v amtool >/dev/null || need+=(prometheus-alertmanager)
command -v chromium >/dev/null || need+=(chromium)
command -v openssl >/dev/null || need+=(openssl)
command -v systemd-analyze >/dev/null || need+=(systemd)
command -v pg_dump >/dev/null || need+=(postgresql-client)
command -v socat >/dev/null || need+=(socat)
command -v ip >/dev/null || need+=(iproute2)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "installing ${need[*]}"
    # Another install (a second `make test`, unattended upgrades) holds dpkg's lock: wait for it.
    wait_lock=(-o DPkg::Lock::Timeout=600)
    apt-get "${wait_lock[@]}" update -qq
    DEBIAN_FRONTEND=noninteractive apt-get "${wait_lock[@]}" install -y -qq "${need[@]}" >/dev/null
  else
    echo "missing Debian packages (run as root to install): ${need[*]}" >&2
  fi
fi
pg_up() {
  if command -v pg_isready >/dev/null; then
    pg_isready -q -h 127.0.0.1 -p 5432
  else
    python3 -c 'import socket; socket.create_connection(("127.0.0.1", 5432), 2).close()' 2>/dev/null
  fi
}
if ! pg_up; then
  if [ "$(id -u)" -eq 0 ] && command -v pg_ctlcluster >/dev/null; then
    echo "starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  pg_up || echo "PostgreSQL is not answering on 127.0.0.1:5432; the store and db probe tests need it" >&2
fi
