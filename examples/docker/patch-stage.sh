#!/bin/sh
# The `patch` stage of examples/docker/Dockerfile, as a script the tests run too.
#
#   patch-stage.sh RELEASE REPO NODE_IMAGE [APP [MANIFESTS]]
#
# Clones LibreChat RELEASE from REPO into APP (default /app), applies and verifies the patches,
# removes the tool's state folder (its backups are not for the image) and copies every
# package.json and package-lock.json to MANIFESTS (default /manifests), the files `npm ci` needs
# before the sources (each release has its own set of workspaces). Refuses, before patching and
# with one line saying what to do, a release the patch catalog does not cover and a release whose
# own Dockerfile builds on another major version of node than NODE_IMAGE.
set -eu

release=$1
repo=$2
node_image=$3
app=${4:-/app}
manifests=${5:-/manifests}

covered=$(librechat-dynmodels --json list | python3 -c 'import json, sys; print(" ".join(json.load(sys.stdin)["data"]["releases"]))')
case " $covered " in
*" $release "*) ;;
*)
  echo "error: LibreChat $release is not a release the patch catalog covers; build one of: $covered" >&2
  exit 1
  ;;
esac

git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$release" "$repo" "$app"
rm -rf "$app/.git"

# The node image of LibreChat's own Dockerfile for this release (node 20 up to v0.8.6, node 24 from v0.8.7).
own_image=$(sed -n 's/^FROM \(node:[^ ]*\) [Aa][Ss] node$/\1/p' "$app/Dockerfile" 2>/dev/null | head -n 1)
own_major=$(echo "$own_image" | sed -n 's/^node:\([0-9][0-9]*\).*/\1/p')
our_major=$(echo "$node_image" | sed -n 's/^node:\([0-9][0-9]*\).*/\1/p')
if [ -n "$own_major" ] && [ "$own_major" != "$our_major" ]; then
  echo "error: LibreChat $release builds on $own_image (its own Dockerfile), not $node_image; build with --build-arg NODE_IMAGE=$own_image" >&2
  exit 1
fi

librechat-dynmodels apply "$app"
librechat-dynmodels verify "$app"
rm -rf "$app/.librechat-dynmodels"

find "$app" -name node_modules -prune -o -type f \( -name package.json -o -name package-lock.json \) -print |
  while IFS= read -r file; do
    relative=${file#"$app"/}
    mkdir -p "$manifests/$(dirname "$relative")"
    cp "$file" "$manifests/$relative"
  done
