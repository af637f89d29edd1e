#!/bin/sh
# The in-image steps of examples/docker/Dockerfile.published, as one script the tests run too.
#
#   image-stage.sh patch APP PATCHED           stage `patch`: Python and the tool (thrown away)
#   image-stage.sh build APP PATCHED OUT       stage `build`: LibreChat's published image (thrown away)
#
# patch: APP is a copy of the published image's /app. Applies and verifies the series there, then
#   copies every file the series changed or created to PATCHED/app (same paths), lists them in
#   PATCHED/files, and removes the tool's state folder (its backups are not for the image).
# build: APP is the published image's own /app (LibreChat's Dockerfile ran `npm ci`, `npm run
#   frontend` and `npm prune --production` there). Puts PATCHED/app over it, installs the dev
#   dependencies for the build (`npm ci`), rebuilds exactly what the patched files need (see
#   `builds` below: the data provider, any other package, and the client bundle, which includes
#   the data provider), prunes the dev dependencies again (`npm prune --production`, `npm cache
#   clean --force`) and copies the patched files and every rebuilt `dist` to OUT. The final stage
#   is the published image plus OUT: no tool, Python, backups, wheel or dev dependencies.
#
# Every command it runs is printed first (`+ npm ...`). Files under api/ need no build: the
# backend loads them as they are.
set -eu

usage() {
  echo "usage: image-stage.sh patch APP PATCHED | image-stage.sh build APP PATCHED OUT" >&2
  exit 2
}

run() {
  echo "+ $*"
  "$@"
}

# in APP: `npm run build:NAME` when LibreChat's root package.json has that script, else the package's own build
package_build() {
  if grep -q "\"build:$1\"" package.json; then
    run npm run "build:$1"
  else
    (cd "packages/$1" && run npm run build)
  fi
}

# The builds the patched files need, one a line: `package NAME` for packages/NAME/..., `client` for
# client/... and for the data provider (the client bundle includes it), data provider first.
builds() {
  sed -n 's|^packages/\([^/]*\)/.*|package \1|p' "$1" | sort -u
  if grep -q -e '^client/' -e '^packages/data-provider/' "$1"; then
    echo client
  fi
}

patch_stage() {
  app=$1
  patched=$2
  librechat-dynmodels apply "$app"
  librechat-dynmodels verify "$app"
  mkdir -p "$patched/app"
  librechat-dynmodels --json status "$app" |
    python3 -c 'import json, sys; print("\n".join(f["path"] for f in json.load(sys.stdin)["data"]["files"]))' \
      >"$patched/files"
  while IFS= read -r file; do
    mkdir -p "$patched/app/$(dirname "$file")"
    cp -p "$app/$file" "$patched/app/$file"
  done <"$patched/files"
  rm -rf "$app/.librechat-dynmodels"
}

build_stage() {
  app=$1
  patched=$2
  out=$3
  cp -R -p "$patched/app/." "$app/"
  mkdir -p "$out"
  (cd "$patched/app" && cp -R -p . "$out/")
  plan=$(builds "$patched/files")
  cd "$app"
  if [ -z "$plan" ]; then
    echo "nothing to build: the patched files are loaded as they are"
    return 0
  fi
  run npm ci --no-audit --include=dev
  echo "$plan" | while read -r kind name; do
    if [ "$kind" = package ]; then
      package_build "$name"
      rm -rf "${out:?}/packages/$name/dist"
      mkdir -p "$out/packages/$name"
      cp -R -p "packages/$name/dist" "$out/packages/$name/dist"
    else
      (cd client && export NODE_OPTIONS="--max-old-space-size=${NODE_MAX_OLD_SPACE_SIZE:-6144}" && run npm run build)
      rm -rf "${out:?}/client/dist"
      mkdir -p "$out/client"
      cp -R -p client/dist "$out/client/dist"
    fi
  done
  run npm prune --production
  run npm cache clean --force
}

[ $# -ge 1 ] || usage
mode=$1
shift
case $mode in
patch)
  [ $# -eq 2 ] || usage
  patch_stage "$@"
  ;;
build)
  [ $# -eq 3 ] || usage
  build_stage "$@"
  ;;
*) usage ;;
esac
