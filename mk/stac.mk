# STAC API test server: stac-fastapi-pgstac on PostgreSQL 15 + PostGIS (tests/servers/pgstac.py).
#
# PostgreSQL/PostGIS come from Debian (installed only when missing); the API server, pypgstac
# and uvicorn live in their own venv so the main .venv never gets these server packages.
# apt waits for a dpkg lock held by another set-up step instead of failing at once.

STAC_VENV := .servers/stac
STAC_DEBIAN_PACKAGES := postgresql-15-postgis-3
STAC_PIP_PACKAGES := "stac-fastapi-pgstac>=6,<8" "pypgstac[psycopg]>=0.9,<0.11" "uvicorn>=0.30,<1"

$(STAMPS)/stac-server: mk/stac.mk | $(STAMPS)
	@if dpkg -s $(STAC_DEBIAN_PACKAGES) >/dev/null 2>&1; then \
	  echo "Debian packages present: $(STAC_DEBIAN_PACKAGES)"; \
	else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	  $$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
	    $(STAC_DEBIAN_PACKAGES); \
	fi
	@test -x /usr/lib/postgresql/15/bin/pg_ctl || { \
	  echo "PostgreSQL 15 binaries missing from /usr/lib/postgresql/15/bin"; exit 1; }
	rm -rf $(STAC_VENV)
	$(PYTHON) -m venv $(STAC_VENV)
	$(STAC_VENV)/bin/python -m pip install -q -U pip
	$(STAC_VENV)/bin/python -m pip install -q $(STAC_PIP_PACKAGES)
	$(STAC_VENV)/bin/python -c "import stac_fastapi.pgstac.app, pypgstac, uvicorn"
	@touch $@

TEST_STAMPS += $(STAMPS)/stac-server
