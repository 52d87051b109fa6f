#!/usr/bin/env bash
# The baseline of the push-to-live benchmark: what a hand-made deploy script does for one commit,
# with nothing of Slipway in it. Clone the commit, build it with podman (warm cache), push the image
# to the registry, run it with its port published, and wait until it answers with the expected body.
#   bench/plain-deploy.sh GIT_URL BRANCH IMAGE EXPECTED_BODY LABEL
# Prints the container's id on stdout.
set -euo pipefail
git_url=$1 branch=$2 image=$3 expected=$4 label=$5
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet --depth 1 --branch "$branch" "$git_url" "$work/src"
podman build --quiet --tag "$image" "$work/src" >/dev/null
podman push --quiet "$image"
id=$(podman run --detach --init --label "$label" --publish 127.0.0.1::8080 "$image")
address=$(podman port "$id" 8080/tcp | head -n 1)
until [ "$(curl -fsS --max-time 2 "http://$address/" 2>/dev/null || true)" = "$expected" ]; do sleep 0.1; done
echo "$id"
