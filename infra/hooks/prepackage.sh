#!/bin/sh
# azd's prepackage hook: build the deployment zip with `make package` and unpack it where azure.yaml's `dist` points.
# PACKAGE_REQUIREMENTS chooses the profile, as for `make package` (requirements.txt: PyPI's CUDA build of torch).
set -eu
cd "$(dirname "$0")/../.."
make package ${PACKAGE_REQUIREMENTS:+PACKAGE_REQUIREMENTS="$PACKAGE_REQUIREMENTS"}
rm -rf out/package/app
.venv/bin/python -m zipfile -e out/package/videoanalysis.zip out/package/app
echo "prepackage: out/package/app holds the package azd deploys"
