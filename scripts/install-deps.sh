#!/usr/bin/env bash
# Installs, with apt-get and only where missing, the Debian packages the test
# suite needs: chromium (browser test of the wasm client) and
# dataset-fashion-mnist (real images with labels). With "--bench" it also
# installs the peers the benchmarks compare against.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
if [ "${1:-}" = "--bench" ]; then
	/usr/bin/python3 -c 'import faiss' 2>/dev/null || need+=(python3-faiss)
	/usr/bin/python3 -c 'import sklearn' 2>/dev/null || need+=(python3-sklearn)
	/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
	/usr/bin/python3 -c 'import pynndescent' 2>/dev/null || need+=(python3-pynndescent)
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${need[*]}" >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
