#!/usr/bin/env bash
# What `npm test` needs besides node_modules (SPEC §6: npm test installs or
# starts what the tests need): a nats-server binary, which the NATS tests
# start themselves on free loopback ports. Installed with apt when missing
# and possible; otherwise those tests skip and say why.
set -u
if command -v nats-server >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: installing nats-server with apt"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server) >/dev/null 2>&1 \
    || echo "test-deps: could not install nats-server; the NATS tests will skip"
else
  echo "test-deps: nats-server not found (install it: apt-get install nats-server); the NATS tests will skip"
fi
exit 0
