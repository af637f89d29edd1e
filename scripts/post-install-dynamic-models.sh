#!/bin/sh
# Apply the dynamic per-user models patches to a LibreChat checkout, installing
# librechat-dynmodels first (from the copy of the project that holds this script) if needed.
#
#   scripts/post-install-dynamic-models.sh [LIBRECHAT_DIR] [apply options...]
#
# Run it from inside a LibreChat checkout, or name the checkout as the first argument (or set
# LIBRECHAT_DIR). Every argument goes to `librechat-dynmodels apply` as it is (PATH, --dry-run,
# --component, --json, --patches ...).
#
# The tool is, in this order: $DYNMODELS_BIN when set; `librechat-dynmodels` in the private venv
# or on PATH when its version is this copy's; else installed from this copy with pipx when pipx
# is present, otherwise into a private venv next to the scripts folder (../.dynmodels-venv, or
# $DYNMODELS_VENV). No sudo, no global pip. Running it again is harmless: the tool is not
# reinstalled and `apply` answers "already applied".
#
# Messages of this script go to stderr; the tool's own output is unchanged. The exit code is the
# tool's (0 applied or already applied, 1 nothing changed, 2 usage, ... see README.md), or 1 when
# the tool could not be installed.
set -u

script_dir=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
project_dir=$(dirname -- "$script_dir")
venv_dir=${DYNMODELS_VENV:-$project_dir/.dynmodels-venv}

say() {
  printf 'post-install: %s\n' "$*" >&2
}

fail() {
  say "$*"
  exit 1
}

version_of() {
  "$1" --version 2>/dev/null | sed -n 's/^librechat-dynmodels //p'
}

wanted=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$project_dir/src/librechat_dynmodels/__init__.py" 2>/dev/null)
[ -n "$wanted" ] || fail "$project_dir is not a copy of librechat-dynmodels (no src/librechat_dynmodels/__init__.py)"

tool=""
if [ -n "${DYNMODELS_BIN:-}" ]; then
  tool=$DYNMODELS_BIN
  say "using $tool (DYNMODELS_BIN)"
else
  for candidate in "$venv_dir/bin/librechat-dynmodels" "$(command -v librechat-dynmodels 2>/dev/null || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$(version_of "$candidate")" = "$wanted" ]; then
      tool=$candidate
      say "librechat-dynmodels $wanted is already installed: $tool"
      break
    fi
  done
fi

if [ -z "$tool" ]; then
  if command -v pipx >/dev/null 2>&1; then
    say "installing librechat-dynmodels $wanted from $project_dir with pipx"
    pipx install --force "$project_dir" >&2 || fail "pipx install failed (exit $?); the checkout was not touched"
    bin_dir=$(pipx environment --value PIPX_BIN_DIR 2>/dev/null) || bin_dir=""
    tool=${bin_dir:-${PIPX_BIN_DIR:-$HOME/.local/bin}}/librechat-dynmodels
  else
    python=""
    for candidate in python3 python; do
      if command -v "$candidate" >/dev/null 2>&1 &&
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
        python=$candidate
        break
      fi
    done
    [ -n "$python" ] || fail "needs pipx or Python 3.10 or newer (python3); the checkout was not touched"
    say "installing librechat-dynmodels $wanted from $project_dir into $venv_dir"
    if [ ! -x "$venv_dir/bin/python" ]; then
      "$python" -m venv "$venv_dir" >&2 || fail "cannot create $venv_dir (exit $?); the checkout was not touched"
    fi
    "$venv_dir/bin/python" -m pip install --quiet --disable-pip-version-check "$project_dir" >&2 ||
      fail "pip install into $venv_dir failed (exit $?); the checkout was not touched"
    tool=$venv_dir/bin/librechat-dynmodels
  fi
  [ -x "$tool" ] || fail "installed, but $tool is missing; the checkout was not touched"
fi

target=""
if [ $# -gt 0 ] && [ -d "$1" ]; then
  target=" '$1'"
fi
dry_run=0
for arg in "$@"; do
  [ "$arg" = "--dry-run" ] && dry_run=1
done

say "running: $tool apply $*"
"$tool" apply "$@"
code=$?

if [ "$code" -eq 0 ] && [ "$dry_run" -eq 1 ]; then
  say "dry run: nothing was written"
elif [ "$code" -eq 0 ]; then
  say "the files listed above are patched (or already were); originals are kept in .librechat-dynmodels/"
  say "check them later with: '$tool' verify$target"
  say "roll back with:        '$tool' rollback$target"
  say "next: rebuild what LibreChat loads (the client bundle and the data provider are built from the sources): npm run frontend, in the checkout"
  say "next: restart LibreChat so it loads them (npm run backend, or your process manager)"
  say "next: with docker compose, the checkout is not what runs: copy $project_dir/examples/docker/docker-compose.override.yml next to docker-compose.yml, set LIBRECHAT_VERSION in .env and run: docker compose up -d --build"
  say "check what runs with:  '$tool' verify --runtime$target (the built files), '$tool' verify --url http://HOST:3080 (the server)"
else
  say "librechat-dynmodels apply exited with code $code (see the error above; 1 means nothing was changed)"
fi
exit "$code"
