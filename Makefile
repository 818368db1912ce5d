# `make run`: set everything up and serve the panel on SQLite at http://127.0.0.1:8000
# `make test`: the whole suite on SQLite, and on MariaDB when it is reachable.
VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

.PHONY: run test setup test-setup system-packages clean

run: setup
	@[ -s .secret_key ] || (umask 077 && $(PY) -c "import secrets; print(secrets.token_urlsafe(50))" > .secret_key)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py initadmin
	MAILADMIN_SECURE=0 $(PY) manage.py runserver --insecure 127.0.0.1:8000

test: test-setup
	scripts/test.sh

setup: $(VENV)/.installed-run

test-setup: $(VENV)/.installed-test

$(VENV)/bin/python:
	scripts/system-packages.sh run
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(VENV)/bin/python
	scripts/system-packages.sh run
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-test.txt | $(VENV)/bin/python
	scripts/system-packages.sh test
	$(VENV)/bin/pip install --quiet -r requirements-test.txt
	touch $@ $(VENV)/.installed-run

clean:
	rm -rf $(VENV) staticfiles test-artifacts

# Production, as root on Debian 12 (README, "Deploying"), e.g.
#   make install INSTALL_OPTIONS="--server-name mail.example.org --enable-proxy apache"
.PHONY: install upgrade rollback uninstall
install upgrade rollback uninstall:
	scripts/install.sh $@ $(INSTALL_OPTIONS)
