# Sourced by the GPU machine scripts: finds cuBLASLt, which the engine opens at run time (the CUDA toolkit's copy,
# else the one PyTorch's wheels ship), and exports it as MMI_CUBLASLT with the toolkit's libraries on the loader path.
lt=$(ls /usr/local/cuda/lib64/libcublasLt.so.* 2>/dev/null | head -1)
if [ -z "$lt" ]; then
  for d in $(python3 -c "import site; print(' '.join(site.getsitepackages()))" 2>/dev/null); do
    lt=$(find "$d/nvidia" -name 'libcublasLt.so*' 2>/dev/null | head -1)
    [ -n "$lt" ] && break
  done
fi
export MMI_CUBLASLT=$lt LD_LIBRARY_PATH=/usr/local/cuda/lib64:${LD_LIBRARY_PATH:-}
