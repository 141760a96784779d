# PyWPS 4.8 (WPS 1.0.0) for the WPS processing adapter tests.
#
# PyWPS runs from its own venv (.servers/pywps); tests/servers/pywps.py serves pywps.Service
# with werkzeug's threaded run_simple on a free 127.0.0.1 port per test session, with the test
# processes of tests/servers/pywps_processes.py. The stamp depends only on this file, so a
# second `make` does nothing.

PYWPS_VENV := .servers/pywps
PYWPS_REQUIREMENTS := "pywps>=4.8,<4.9" "werkzeug" "sqlalchemy" "lxml"

$(STAMPS)/pywps-server: mk/pywps.mk | $(STAMPS)
	@mkdir -p .servers
	@if [ ! -x $(PYWPS_VENV)/bin/python ]; then $(PYTHON) -m venv $(PYWPS_VENV); fi
	$(PYWPS_VENV)/bin/python -m pip install -q -U pip
	$(PYWPS_VENV)/bin/python -m pip install -q $(PYWPS_REQUIREMENTS)
	$(PYWPS_VENV)/bin/python -c "import pywps, werkzeug, sqlalchemy; from importlib.metadata import version as v; print('pywps', v('pywps'), 'werkzeug', v('werkzeug'), 'sqlalchemy', v('sqlalchemy'))"
	@touch $@

TEST_STAMPS += $(STAMPS)/pywps-server
