#!/usr/bin/env bash
# Install the provider's CLI (the real client the tests use as an oracle) from npm into
# .tools/supabase-cli: a pinned release (newer ones may not install here). Running it again
# with the release in place does nothing. Needs node and npm (Debian: nodejs, npm).
set -euo pipefail
cd "$(dirname "$0")/.."
version=2.117.0
dir=.tools/supabase-cli
bin=$dir/node_modules/.bin/supabase
if [ -x "$bin" ] && [ "$("$bin" --version 2>/dev/null)" = "$version" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "npm is missing (Debian: apt-get install nodejs npm); the Supabase CLI tests need it" >&2
  exit 1
fi
mkdir -p "$dir"
echo "installing supabase@$version into $dir"
npm install --prefix "$dir" --save-exact --no-audit --no-fund --loglevel=error "supabase@$version" >/dev/null
"$bin" --version >/dev/null
