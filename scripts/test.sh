#!/usr/bin/env bash
# The whole test suite: lint, types, layer contracts, then pytest on SQLite and PostgreSQL,
# with the Telegram emulator (Node) for the end-to-end tests. `./dev test` runs this inside
# the project's virtualenv; `.ci/run` runs `./dev test`.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

say() { printf '\n== %s\n' "$*"; }
as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_install() {
    command -v apt-get >/dev/null || return 1
    as_root apt-get update -qq >/dev/null && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# --- PostgreSQL: the machine's server when it answers, else a throwaway cluster -------------
PG_TMP=""
cleanup() {
    if [[ -n "$PG_TMP" ]]; then
        runpg "$PGBIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$PG_TMP"
    fi
}
trap cleanup EXIT
runpg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [[ -z "${TEST_DATABASE_URL:-}" ]]; then
    if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
        export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    else
        if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
            say "installing PostgreSQL (Debian package) for the storage suite"
            apt_install postgresql || true
        fi
        PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
        if [[ -n "$PGBIN" ]]; then
            say "starting a throwaway PostgreSQL cluster on 127.0.0.1:54329"
            PG_TMP=$(mktemp -d)
            [[ $(id -u) -eq 0 ]] && chown postgres "$PG_TMP"
            runpg "$PGBIN/initdb" -D "$PG_TMP/data" --auth=trust -U postgres >/dev/null
            runpg "$PGBIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/log" -w \
                -o "-p 54329 -k $PG_TMP -c listen_addresses=127.0.0.1" start >/dev/null
            export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:54329/postgres"
        elif [[ "${CI:-}" == "true" ]]; then
            echo "PostgreSQL is required in CI and could not be installed." >&2
            exit 1
        else
            echo "WARNING: no PostgreSQL here; the PostgreSQL half of the suite is skipped." >&2
        fi
    fi
fi

# --- Node packages for the Telegram emulator -------------------------------------------------
EMU=tests/e2e/telegram_emulator
if ! command -v npm >/dev/null; then
    say "installing Node.js and npm (Debian packages) for the Telegram emulator"
    apt_install nodejs npm || true
fi
if command -v npm >/dev/null; then
    if [[ ! -d "$EMU/node_modules" || "$EMU/package-lock.json" -nt "$EMU/node_modules" ]]; then
        say "npm ci (telegram-test-api emulator)"
        npm ci --prefix "$EMU" --no-audit --no-fund --loglevel=error
        touch "$EMU/node_modules"
    fi
elif [[ "${CI:-}" == "true" ]]; then
    echo "Node.js/npm are required in CI for the Telegram end-to-end tests." >&2
    exit 1
fi

# --- Chromium for the sign-up page tests (Playwright drives Debian's package) -------------
if ! command -v chromium >/dev/null; then
    say "installing Chromium (Debian package) for the browser tests"
    apt_install chromium || true
fi
if ! command -v chromium >/dev/null && [[ "${CI:-}" == "true" ]]; then
    echo "Chromium is required in CI for the sign-up page tests." >&2
    exit 1
fi

say "ruff"
"$BIN/ruff" check .
"$BIN/ruff" format --check .
say "mypy"
"$BIN/mypy" .
say "import-linter"
"$BIN/lint-imports"
say "pytest (TEST_DATABASE_URL=${TEST_DATABASE_URL:-unset})"
"$BIN/pytest" -q "$@"
