#!/usr/bin/env bash
# Builds caffers with candle's CUDA backend (`--features cuda`) on a machine with no GPU and
# no CUDA installation, from package registries only:
#   1. NVIDIA's PyPI wheels give nvcc, the headers and the libraries candle links against,
#      pinned to CUDA 13.0 (the lent GPU machines run driver 580 = CUDA 13.0; newer nvvm
#      emits PTX that a 13.0 driver rejects);
#   2. the wheels ship versioned sonames only (libcublas.so.13), so unversioned links are
#      made beside them for the linker;
#   3. libcuda comes only with a driver: a link-time stub (soname libcuda.so.1) defines every
#      cu* symbol cudarc references, each returning CUDA_ERROR_NO_DEVICE. On a GPU machine
#      the driver's real libcuda.so.1 is found first at run time; here the stub makes
#      `--device cuda:0` fall back to the CPU with a warning instead of failing to start.
#
# Usage: scripts/cuda_build.sh [TOOLKIT_DIR]   (default: ~/.cache/caffers-cuda)
# Output: target-cuda/release/caffers, and TOOLKIT_DIR/root (CUDA_ROOT for the build).
# Environment: CUDA_COMPUTE_CAP (default 90: H100/H200).
set -euo pipefail
cd "$(dirname "$0")/.."

toolkit="${1:-$HOME/.cache/caffers-cuda}"
python="${PYTHON:-python3}"
mkdir -p "$toolkit"
toolkit="$(cd "$toolkit" && pwd)"

if [ ! -x "$toolkit/py/nvidia/cu13/bin/nvcc" ]; then
    "$python" -m pip install --quiet --target "$toolkit/py" \
        "nvidia-cuda-nvcc==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-cccl==13.0.*" \
        "nvidia-nvvm==13.0.*" "nvidia-cuda-crt==13.0.*" "nvidia-cublas==13.0.*" \
        "nvidia-curand" "nvidia-cuda-nvrtc==13.0.*"
fi

wheel="$toolkit/py/nvidia/cu13"
root="$toolkit/root"
mkdir -p "$root/lib"
for d in bin include nvvm; do
    ln -sfn "$wheel/$d" "$root/$d"
done
# Unversioned names for the linker (-lcublas finds libcublas.so).
for lib in "$wheel"/lib/lib*.so.*; do
    name="$(basename "$lib")"
    ln -sfn "$lib" "$root/lib/$name"
    ln -sfn "$lib" "$root/lib/${name%%.so.*}.so"
done

# The libcuda stub: every cu* entry point cudarc's driver bindings may call.
cudarc_src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.* 2>/dev/null | tail -1)"
if [ -z "$cudarc_src" ]; then
    cargo fetch --quiet
    cudarc_src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.19.* | tail -1)"
fi
stub_c="$toolkit/libcuda_stub.c"
{
    echo "/* Link-time stand-in for the driver's libcuda.so.1: no device here. */"
    grep -o 'fn cu[A-Za-z0-9_]*' "$cudarc_src/src/driver/sys/mod.rs" | sort -u |
        sed 's/^fn \(.*\)$/int \1(void) { return 100; \/* CUDA_ERROR_NO_DEVICE *\/ }/'
} >"$stub_c"
cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$root/lib/libcuda.so.1" "$stub_c"
ln -sfn libcuda.so.1 "$root/lib/libcuda.so"

export CUDA_ROOT="$root" CUDA_PATH="$root" CUDA_HOME="$root"
export CUDA_COMPUTE_CAP="${CUDA_COMPUTE_CAP:-90}"
export PATH="$root/bin:$root/nvvm/bin:$PATH"
export LIBRARY_PATH="$root/lib:${LIBRARY_PATH:-}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target-cuda}"
nvcc --version | tail -2
cargo build --release --features cuda --bin caffers
echo "built $CARGO_TARGET_DIR/release/caffers"
echo "run it here with: LD_LIBRARY_PATH=$root/lib $CARGO_TARGET_DIR/release/caffers …"
