# One entry point: `make demo` runs the main job, `make test` runs the tests (both set everything up first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export YOLO_OFFLINE := 1

.PHONY: setup demo test lint format bench eval azurite clean package smoke docs

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-runner.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-runner.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --editable .
	touch $@

# checkov (make lint) in a venv of its own: its pins (packaging<24, networkx<2.7, an older pycep-parser) conflict with
# pytest's and the app's.
CHECKOV := $(VENV)/checkov
$(CHECKOV)/.installed: requirements-checkov.txt
	test -x $(CHECKOV)/bin/python || $(PYTHON) -m venv $(CHECKOV)
	$(CHECKOV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/videoanalysis demo --out out/demo

test: setup
	tools/install_chromium.sh
	tools/with_azurite.sh $(BIN)/pytest

lint: setup $(CHECKOV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/azure-functions-doctor doctor --path . --profile deploy --deployment-mode local-prebuilt \
		--hosting-plan flex-consumption
	$(BIN)/python tools/bicep.py
	$(CHECKOV)/bin/checkov --directory infra --framework bicep --skip-download --compact --quiet

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The deployment zip (docs/deploy.md); PACKAGE_REQUIREMENTS=requirements.txt for PyPI's CUDA build of torch.
PACKAGE_REQUIREMENTS ?= requirements-cpu.txt
package: setup
	$(BIN)/python tools/package.py --requirements $(PACKAGE_REQUIREMENTS)

# The docs site, strict: a broken link or anchor, or a page missing from the nav, fails it (out/site/index.html).
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The deployed app's smoke test (docs/deploy.md): after `azd up`, with azd's outputs and a function key from az.
smoke: setup
	set -a && eval "$$(azd env get-values)" && set +a && \
	FUNCTION_KEY="$$(az functionapp keys list -g "$$AZURE_RESOURCE_GROUP" -n "$$AZURE_FUNCTION_APP_NAME" \
		--query functionKeys.default -o tsv)" $(BIN)/python tools/smoke.py $(SMOKE_ARGS)

bench: setup
	$(BIN)/python -m bench

eval: setup
	$(BIN)/python -m bench.eval_counts

azurite: setup
	node_modules/.bin/azurite --silent --location .azurite --skipApiVersionCheck --blobHost 127.0.0.1 \
		--queueHost 127.0.0.1 --tableHost 127.0.0.1

clean:
	rm -rf $(VENV) node_modules out .pytest_cache .ruff_cache
