#!/usr/bin/env bash
# Installs, with apt-get and only where missing, the Debian packages the test
# suite needs: chromium (browser test of the wasm client),
# dataset-fashion-mnist (real images with labels), and for the GPU code
# (gpu/): clang-19 (regenerates the kernels' PTX to check the committed
# copy), ocl-icd-libopencl1 (libOpenCL.so.1) and pocl-opencl-icd (an OpenCL
# device on the CPU, where every kernel runs in CI), python3-onnx (the ONNX
# project's checker of exported models), python3-numpy (reads our .npy
# files in internal/npy's test), util-linux's prlimit (the full-disk test
# where no tmpfs can be mounted), and npm (node and
# @duckdb/node-api in scripts/duckdb/node_modules, the DuckDB that reads our
# Parquet exports in export/duckdb_test.go). With "--bench" it also
# installs the peers the benchmarks compare against.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -d /usr/share/datasets/fashion-mnist ] || need+=(dataset-fashion-mnist)
command -v clang-19 >/dev/null 2>&1 || need+=(clang-19)
[ -n "$(ls /usr/lib/*/libOpenCL.so.1 /usr/lib64/libOpenCL.so.1 2>/dev/null)" ] || need+=(ocl-icd-libopencl1)
[ -e /etc/OpenCL/vendors/pocl.icd ] || need+=(pocl-opencl-icd)
/usr/bin/python3 -c 'import onnx' 2>/dev/null || need+=(python3-onnx)
command -v npm >/dev/null 2>&1 || need+=(npm)
/usr/bin/python3 -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
command -v prlimit >/dev/null 2>&1 || need+=(util-linux)
if [ "${1:-}" = "--bench" ]; then
	/usr/bin/python3 -c 'import faiss' 2>/dev/null || need+=(python3-faiss)
	/usr/bin/python3 -c 'import sklearn' 2>/dev/null || need+=(python3-sklearn)
	/usr/bin/python3 -c 'import torch' 2>/dev/null || need+=(python3-torch)
	/usr/bin/python3 -c 'import pynndescent' 2>/dev/null || need+=(python3-pynndescent)
fi
if [ ${#need[@]} -gt 0 ]; then
echo "installing Debian packages: ${need[*]}" >&2
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# DuckDB for export/duckdb_test.go, pinned by scripts/duckdb/package-lock.json.
duckdb="$(dirname "$0")/duckdb"
if [ ! -f "$duckdb/node_modules/@duckdb/node-api/package.json" ]; then
	echo "installing npm @duckdb/node-api into $duckdb/node_modules" >&2
	npm ci --prefix "$duckdb" --no-audit --no-fund --loglevel=error
fi
