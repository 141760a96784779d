# JupyterHub for the two-user sharing tests (tests/test_sharing_hub.py) and `make demo-hub`.
#
# JupyterHub goes into the main venv (.venv), not a venv of its own: the share service
# (eo_jlab/sharing/service.py) imports jupyterhub.services.auth, and `jupyterhub-singleuser`
# must start user servers that have eo_jlab installed. configurable-http-proxy (Node) is
# installed locally under .servers/chp with `npm install --prefix`. tests/servers/hub.py
# writes a hub config per test session (free 127.0.0.1 ports, DummyAuthenticator, the share
# service as a managed service). The stamp depends only on this file and the Python set-up,
# so a second `make` does nothing.

HUB_REQUIREMENT := "jupyterhub>=5.3,<7"
CHP_DIR := .servers/chp
CHP_VERSION := 5.3.0

$(STAMPS)/hub: mk/hub.mk $(STAMPS)/python | $(STAMPS)
	$(PY) -m pip install -q $(HUB_REQUIREMENT)
	$(PY) -c "import jupyterhub, jupyterhub.services.auth; print('jupyterhub', jupyterhub.__version__)"
	@test -x $(BIN)/jupyterhub-singleuser || \
	  { echo "jupyterhub-singleuser is missing from $(VENV)"; exit 1; }
	@mkdir -p $(CHP_DIR)
	@if [ "$$($(CHP_DIR)/node_modules/.bin/configurable-http-proxy --version 2>/dev/null)" != "$(CHP_VERSION)" ]; then \
	  npm install --prefix $(CHP_DIR) --no-audit --no-fund --loglevel=error \
	    configurable-http-proxy@$(CHP_VERSION); \
	fi
	@echo "configurable-http-proxy $$($(CHP_DIR)/node_modules/.bin/configurable-http-proxy --version)"
	@touch $@

TEST_STAMPS += $(STAMPS)/hub
