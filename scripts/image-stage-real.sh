#!/bin/sh
# Opt-in real-tree check of examples/docker/image-stage.sh (no Docker engine needed): on a copy of an
# installed LibreChat tree, made to look as LibreChat's Dockerfile leaves /app, run the patch and build
# stages of Dockerfile.published, with `verify --runtime` before and after, and print /app's sizes.
#
#   scripts/image-stage-real.sh SOURCE_TREE WORK [PHASE]
#
# SOURCE_TREE: an installed tree (`npm ci` done, e.g. by ../shared/librechat-install.py); never changed.
# WORK: a folder of yours; the image-like copy is WORK/app, the patch stage's output WORK/patched, what
# the final stage adds to the image WORK/out. PHASE: all (default), prepare, patch, build, verify.
#   prepare  cp -a SOURCE_TREE WORK/app, then `npm run frontend` and `npm prune --production` there
#   patch    verify --runtime (expect 1: not applied), image-stage.sh patch, verify --runtime (expect 6)
#   build    image-stage.sh build, verify --runtime (expect 0)
# `librechat-dynmodels` must be on PATH (this worktree's venv). Where this machine's node is older
# than the release's tsdown wants (v0.8.5+ build on node 24; tsdown then needs `unrun` to read its
# config on node < 22.18), an npm wrapper adds `unrun` after `npm ci` without saving it, as
# ../shared/librechat-install.py does; LibreChat's own image (node 24) needs no such thing.
set -eu

source_tree=$1
work=$2
phase=${3:-all}
here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)
stage_script=$here/../examples/docker/image-stage.sh
app=$work/app
mkdir -p "$work"

size() {
  du -sb "$1" | cut -f1
}

runtime_verdict() {
  set +e
  librechat-dynmodels verify --runtime "$app" >"$work/verify-$1.txt" 2>&1
  code=$?
  set -e
  echo "verify --runtime ($1): exit $code; $(tail -n 1 "$work/verify-$1.txt")"
}

npm_wrapper() {
  wrapper=$work/npm-wrapper
  real=$(command -v npm)
  mkdir -p "$wrapper"
  cat >"$wrapper/npm" <<EOF
#!/bin/sh
"$real" "\$@" || exit \$?
case "\$1" in
ci)
  if [ -d packages/data-provider/node_modules/tsdown ] || [ -d node_modules/tsdown ]; then
    if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=18)?0:1)'; then
      echo "(this host: node \$(node -v) < 22.18, tsdown needs unrun: npm install --no-save unrun)"
      "$real" install --no-save --no-audit unrun
    fi
  fi
  ;;
esac
EOF
  chmod +x "$wrapper/npm"
  PATH=$wrapper:$PATH
  export PATH
}

prepare() {
  rm -rf "$app"
  cp -a "$source_tree" "$app"
  (cd "$app" && NODE_OPTIONS=--max-old-space-size=6144 npm run frontend >"$work/frontend.log" 2>&1)
  (cd "$app" && npm prune --production >"$work/prune.log" 2>&1)
  echo "image-like /app: $(size "$app") bytes"
}

patch() {
  runtime_verdict unpatched
  rm -rf "$work/patched"
  sh "$stage_script" patch "$app" "$work/patched" >"$work/patch.log" 2>&1
  echo "patch stage: $(wc -l <"$work/patched/files") files; state folder left: $([ -e "$app/.librechat-dynmodels" ] && echo yes || echo no)"
  runtime_verdict applied
}

build() {
  npm_wrapper
  # its own npm cache: the build stage ends with `npm cache clean --force`, which must not empty this
  # machine's shared cache (in the image it is the image's own)
  npm_config_cache=$work/npm-cache
  export npm_config_cache
  rm -rf "$work/out"
  start=$(date +%s)
  sh "$stage_script" build "$app" "$work/patched" "$work/out" >"$work/build.log" 2>&1
  echo "build stage: $(($(date +%s) - start)) s; ran: $(grep '^+ ' "$work/build.log" | tr '\n' ';')"
  echo "/app after: $(size "$app") bytes; the final stage's layer (out): $(size "$work/out") bytes"
  runtime_verdict built
}

case $phase in
all) prepare && patch && build ;;
prepare) prepare ;;
patch) patch ;;
build) build ;;
verify) runtime_verdict now ;;
*) echo "usage: image-stage-real.sh SOURCE_TREE WORK [all|prepare|patch|build|verify]" >&2 && exit 2 ;;
esac
