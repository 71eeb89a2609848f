# StockKing Kids: one entry point.
#
#   make run     install what is missing, build, install the extension, start
#                the project's own PostgreSQL and the proxy, load the data
#   make test    every test suite (pg_regress, isolation, proxy end to end)
#   make stop    stop the proxy and PostgreSQL
#   make psql    psql on the project's database as its owner
#   make bench   benchmarks against the stack `make run` started
#   make backup [FILE=...]        pg_dump of `make run`'s database
#   make restore FILE=...         restore a backup into a new database
#   make rotate-secret            a new token secret (the old one keeps verifying)

SUDO := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
CLUSTER = sh docker/cluster.sh
# the e2e suites log in and trade as many users from one address: their proxy
# runs with the limits of proxy/test/e2e.conf (test_proxy.py tests the seeds')
# the test instance's ports (override to run two checkouts' tests side by side)
TEST_PGPORT ?= 55433
TEST_HTTP_PORT ?= 18080
TEST_ENV = STOCKKING_INSTANCE=test STOCKKING_PGPORT=$(TEST_PGPORT) STOCKKING_HTTP_PORT=$(TEST_HTTP_PORT) STOCKKING_FRESH_DB=1 \
	STOCKKING_PROXY_EXTRA_CONF=$(CURDIR)/proxy/test/e2e.conf

.PHONY: all deps build install run stop psql test test-regress test-e2e bench backup restore rotate-secret clean

all: build

deps:
	@sh docker/deps.sh

build: deps
	$(MAKE) -C extension
	$(MAKE) -C proxy

install: build
	$(SUDO) $(MAKE) -C extension install

run: install
	@$(CLUSTER) start
	@echo
	@echo "StockKing Kids is running: PostgreSQL (make psql) and the API on http://127.0.0.1:8080"
	@echo "Try:"
	@echo "  curl -s localhost:8080/v1/seasons"
	@echo "  curl -s 'localhost:8080/v1/market/stocks/search?q=s%26p'"
	@echo "  curl -s -XPOST localhost:8080/v1/auth/signup -d '{\"email\":\"kid@example.com\",\"password\":\"correct horse\",\"role\":\"CHILD\",\"nickname\":\"kid\"}'"
	@echo "  curl -s -XPOST localhost:8080/v1/auth/login -d '{\"email\":\"kid@example.com\",\"password\":\"correct horse\"}'"
	@echo "  curl -s -XPOST localhost:8080/v1/seasons/2/join -H \"Authorization: Bearer \$$TOKEN\""
	@echo "  curl -s -XPOST localhost:8080/v1/trading/orders -H \"Authorization: Bearer \$$TOKEN\" \\"
	@echo "       -d '{\"season_id\":2,\"symbol\":\"SP500\",\"side\":\"BUY\",\"type\":\"MARKET\",\"quantity\":5}'"
	@echo "  echo \"SELECT api.advance_clock(2, 20)\" | make -s psql"
	@echo "  curl -s 'localhost:8080/v1/trading/portfolio?season_id=2' -H \"Authorization: Bearer \$$TOKEN\""
	@echo "Stop with: make stop"

stop:
	@$(CLUSTER) stop
	@$(TEST_ENV) $(CLUSTER) stop

psql:
	@$(CLUSTER) psql

# Every suite runs against a test instance of its own (ports 55433 and
# 18080, a fresh database), so `make test` never touches `make run`'s data.
test: install
	@$(TEST_ENV) $(CLUSTER) start
	@$(TEST_ENV) sh regress/run.sh; status=$$?; $(TEST_ENV) $(CLUSTER) stop; exit $$status

bench: install
	sh bench/run.sh

# Backups of `make run`'s database (pg_dump, custom format) and restores
# into a database that does not exist yet (STOCKKING_FRESH_DB=1 replaces
# it; STOCKKING_INSTANCE=name restores into a new instance beside it).
backup:
	@$(CLUSTER) backup $(FILE)

restore: install
	@test -n "$(FILE)" || { echo "usage: make restore FILE=.run/main/backups/stockking-VERSION-TIME.dump"; exit 2; }
	@$(CLUSTER) restore $(FILE)

rotate-secret:
	@$(CLUSTER) rotate-secret

clean:
	$(MAKE) -C extension clean
	$(MAKE) -C proxy clean
