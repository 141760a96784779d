# pycsw 2.6.x (CSW 2.0.2 / 3.0 and OpenSearch Atom) for the CSW and OpenSearch catalogue tests.
#
# pycsw 2.6 needs its own venv: it pins OWSLib<0.29 and breaks with SQLAlchemy 2. It is served
# by gunicorn (tests/servers/pycsw.py starts it on a free 127.0.0.1 port per test session).
# The stamp depends only on this file, so a second `make` does nothing.

PYCSW_VENV := .servers/pycsw
PYCSW_REQUIREMENTS := "pycsw>=2.6.1,<2.7" "OWSLib>=0.20,<0.29" "sqlalchemy>=1.3,<2" \
  "pyproj" "shapely" "lxml" "geolinks" "xmltodict" "gunicorn" "setuptools<70"

$(STAMPS)/pycsw-server: mk/pycsw.mk | $(STAMPS)
	@mkdir -p .servers
	@if [ ! -x $(PYCSW_VENV)/bin/python ]; then $(PYTHON) -m venv $(PYCSW_VENV); fi
	$(PYCSW_VENV)/bin/python -m pip install -q -U pip
	$(PYCSW_VENV)/bin/python -m pip install -q $(PYCSW_REQUIREMENTS)
	$(PYCSW_VENV)/bin/python -c "import pycsw, sqlalchemy, owslib; print('pycsw', pycsw.__version__, 'sqlalchemy', sqlalchemy.__version__, 'OWSLib', owslib.__version__)"
	@test -x $(PYCSW_VENV)/bin/pycsw-admin.py -o -x $(PYCSW_VENV)/bin/pycsw-admin || \
	  { echo "pycsw-admin is missing from $(PYCSW_VENV)"; exit 1; }
	@test -x $(PYCSW_VENV)/bin/gunicorn || { echo "gunicorn is missing from $(PYCSW_VENV)"; exit 1; }
	@touch $@

TEST_STAMPS += $(STAMPS)/pycsw-server
