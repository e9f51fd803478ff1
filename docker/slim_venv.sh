#!/usr/bin/env bash
# Drops from an installed venv what nothing in redditess loads, so the runtime image carries less;
# both Dockerfiles run it in their build stage, right after `pip install`:
#   bash docker/slim_venv.sh /opt/venv [--strip]
# Removed (each is loaded only through an import redditess and its dependencies never make):
#   torch's C++ test binaries, headers, cmake files and tools other than torch_shm_manager;
#   every distribution's own tests/ folder;
#   pyarrow's Arrow Flight and S3 libraries, and its C++ headers and sources: only `pyarrow.flight`
#     and pyarrow's own S3FileSystem load them (`pyarrow.fs` imports without S3, as pyarrow allows);
#     datasets, pandas and DuckDB use neither, and DVC's S3 remote goes through s3fs/boto, not Arrow;
#   phonenumbers' geocoding, carrier and time-zone tables (the parts phonenumberslite leaves out:
#     the PII scrubber uses PhoneNumberMatcher, which needs only phonenumbers/data).
# --strip: `strip --strip-unneeded` on every shared library outside auditwheel's *.libs folders
#   (patchelf rewrote those; strip can break them). It removes the static symbol tables only: the
#   dynamic ones that loading needs stay. It is deterministic, so two builds stay byte-identical
#   (docker/smoke.sh --twice), and saves about 215 MB on the CPU image (libtorch_cpu.so: 89 MB).
#   The CUDA image does not strip: its libraries were not checked on a GPU after stripping.
set -euo pipefail
venv="${1:?usage: slim_venv.sh VENV [--strip]}"
strip=0
case "${2:-}" in
  --strip) strip=1 ;;
  "") ;;
  *) echo "slim_venv.sh: unknown option '$2' (only --strip)" >&2; exit 2 ;;
esac
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
before=$(du -sm "$venv" | cut -f1)
rm -rf "$site/torch/test" "$site/torch/include" "$site/torch/share/cmake"
find "$site/torch/bin" -mindepth 1 ! -name torch_shm_manager -exec rm -rf {} +
find "$site" -mindepth 2 -maxdepth 2 -type d -name tests -prune -exec rm -rf {} +
rm -rf "$site/pyarrow/include" "$site/pyarrow/src"
find "$site/pyarrow" -maxdepth 1 \( -name '*flight*' -o -name '_s3fs*' -o -name 'libarrow_s3*' \) -exec rm -rf {} +
rm -rf "$site/phonenumbers/geodata" "$site/phonenumbers/carrierdata" "$site/phonenumbers/tzdata"
if [ "$strip" = 1 ]; then
  command -v strip >/dev/null || { echo "slim_venv.sh: --strip needs binutils' strip" >&2; exit 1; }
  find "$venv" -type f -name '*.so*' ! -path '*.libs/*' -print0 | sort -z | xargs -0 -r strip --strip-unneeded
fi
# what is left must still import (a deleted file that something needs fails the build here)
"$venv/bin/python" -c 'import torch, pyarrow.parquet, pyarrow.dataset, pyarrow.fs, duckdb, s3fs, phonenumbers, datasets, transformers, trl
assert list(phonenumbers.PhoneNumberMatcher("call 020 7946 0018", "GB"))'
echo "slim_venv.sh: $venv $before MB -> $(du -sm "$venv" | cut -f1) MB"
