# Several socketcore nodes behind nginx with sticky sessions
# (tests/cluster/nginx): `make test-nginx` installs Debian's nginx when it
# is missing and runs the Go test with the nginx tag; the test starts its
# own nginx (a generated config in a temporary directory, free ports) and
# two nodes joined through Redis (127.0.0.1:6379).
.PHONY: test-nginx nginx-install

# Debian's postinst starts nginx on port 80: a policy-rc.d that refuses
# every service start (exit 101) is in place for the install only (unless
# one is there already, as in Debian's container images), and a daemon
# that started all the same is stopped: none is left running.
nginx-install:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || { \
	  echo "nginx is missing: installing it with apt-get (Debian package nginx-light, or nginx)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  POLICY=/usr/sbin/policy-rc.d; ADDED=; \
	  if [ ! -e $$POLICY ]; then printf '#!/bin/sh\nexit 101\n' | $$SUDO tee $$POLICY >/dev/null && $$SUDO chmod 755 $$POLICY && ADDED=1; fi; \
	  ( $$SUDO apt-get update -q && { DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends nginx-light \
	    || DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y --no-install-recommends nginx; } ); RC=$$?; \
	  if [ -n "$$ADDED" ]; then $$SUDO rm -f $$POLICY; fi; \
	  if [ -s /run/nginx.pid ]; then $$SUDO /usr/sbin/nginx -s quit || true; fi; \
	  [ $$RC = 0 ] || { echo "could not install nginx: run 'apt-get install -y nginx-light' as root (Debian/Ubuntu), then make test-nginx"; exit 1; }; }

test-nginx: node_modules/.package-lock.json nginx-install
	$(GO) test -tags nginx -count=1 -timeout 5m ./tests/cluster/nginx/...

TEST_EXTRA += test-nginx
