# pygeoapi 0.21.x (OGC API - Processes) for the OGC API processing tests.
#
# pygeoapi gets its own venv: its pins (pydantic, shapely, rasterio-free core) must not touch
# eo_jlab's. tests/servers/pygeoapi.py writes a config per test session, generates the OpenAPI
# document and serves it with Flask's threaded server on a free 127.0.0.1 port; jobs are kept
# by the TinyDB manager. The stamp depends only on this file, so a second `make` does nothing.

PYGEOAPI_VENV := .servers/pygeoapi
PYGEOAPI_REQUIREMENTS := "pygeoapi>=0.21,<0.22" "flask" "tinydb" "filelock"

$(STAMPS)/pygeoapi-server: mk/pygeoapi.mk | $(STAMPS)
	@mkdir -p .servers
	@if [ ! -x $(PYGEOAPI_VENV)/bin/python ]; then $(PYTHON) -m venv $(PYGEOAPI_VENV); fi
	$(PYGEOAPI_VENV)/bin/python -m pip install -q -U pip
	$(PYGEOAPI_VENV)/bin/python -m pip install -q $(PYGEOAPI_REQUIREMENTS)
	$(PYGEOAPI_VENV)/bin/python -c "import pygeoapi, flask, tinydb; from importlib.metadata import version; print('pygeoapi', pygeoapi.__version__, 'flask', version('flask'), 'tinydb', version('tinydb'))"
	@test -x $(PYGEOAPI_VENV)/bin/pygeoapi || \
	  { echo "the pygeoapi command is missing from $(PYGEOAPI_VENV)"; exit 1; }
	@touch $@

TEST_STAMPS += $(STAMPS)/pygeoapi-server
