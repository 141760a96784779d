# Kernels the snippet tests execute generated code in: the IR kernel (R with httr, jsonlite and
# xml2) from Debian packages, jq and xmllint (libxml2-utils) for the shell snippets, and the IR
# kernelspec installed under the project's venv prefix so `.venv/bin/jupyter kernelspec list`
# (and jupyter_client) finds `ir`.

KERNEL_DEBIAN_PACKAGES := r-base-core r-cran-irkernel r-cran-httr r-cran-jsonlite r-cran-xml2 \
  jq curl libxml2-utils
IR_KERNELSPEC := $(VENV)/share/jupyter/kernels/ir/kernel.json

$(STAMPS)/kernels: mk/kernels.mk | $(STAMPS)
	@if dpkg -s $(KERNEL_DEBIAN_PACKAGES) >/dev/null 2>&1; then \
	  echo "Debian packages present: $(KERNEL_DEBIAN_PACKAGES)"; \
	else \
	  SUDO=$$( [ "$$(id -u)" = 0 ] && echo "" || echo sudo ); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends \
	    $(KERNEL_DEBIAN_PACKAGES); \
	fi
	@if [ -f $(IR_KERNELSPEC) ]; then \
	  echo "IR kernelspec present: $(IR_KERNELSPEC)"; \
	else \
	  R --no-save --no-restore --quiet -e \
	    'IRkernel::installspec(name = "ir", displayname = "R", prefix = "$(CURDIR)/$(VENV)")'; \
	fi
	@test -f $(IR_KERNELSPEC)
	@touch $@

TEST_STAMPS += $(STAMPS)/kernels
