# sockgate developer entry points. `make ci` is what .ci/run runs after it
# has installed and started the services; docs/testing.md explains the tiers.

GO         ?= go
PYTHON     ?= /usr/bin/python3
FUZZTIME   ?= 20s
# Run by version, not required in go.mod, so library users inherit nothing.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# The shared Redis for integration tests that do not start their own
# (transport/redispubsub's Real* tests read SOCKGATE_TEST_REDIS_ADDR).
REDIS_HOST ?= 127.0.0.1
REDIS_PORT ?= 6379
# The shared NATS (JetStream on) for the NATS transports' integration tests.
NATS_HOST  ?= 127.0.0.1
NATS_PORT  ?= 4222

# The library's module and the two beside it that keep their own
# dependencies out of its go.mod: bench/ (the `make bench` programs) and
# test/ (the integration suites); docs/testing.md, "Layout".
MODULES    ?= . bench test

.PHONY: test integration preflight bench demo fuzz lint ci

# Fast tier: unit tests, only Go needed (tests that want a redis-server
# start their own and skip when it is not installed).
test:
	@set -e; for m in $(MODULES); do echo "== $$m"; $(GO) -C $$m test -race ./...; done

# Integration and fault tests: real redis-server, python-socketio 5.7.2
# (server and client), socket.io-client and socket.io 4.8 on Node, and a
# headless Chromium.
# The suites in test/ (its own module) and the library's *_integration_test
# files; test/integration starts every process it needs itself, other
# packages' integration tests use the shared Redis at REDIS_HOST:REDIS_PORT.
integration: preflight
	@set -e; for m in $(MODULES); do \
		echo "== $$m"; \
		SOCKGATE_TEST_REDIS_ADDR=$(REDIS_HOST):$(REDIS_PORT) \
		SOCKGATE_TEST_NATS_URL=nats://$(NATS_HOST):$(NATS_PORT) \
			$(GO) -C $$m test -race -tags integration -count=1 ./...; \
	done

preflight:
	@ok=1; \
	if ! command -v redis-server >/dev/null 2>&1; then \
		echo "missing: redis-server (apt-get install redis-server redis-tools)"; ok=0; \
	fi; \
	if ! $(PYTHON) -c 'import socketio, aiohttp, redis, requests, websocket, jwt' >/dev/null 2>&1; then \
		echo "missing: $(PYTHON) with socketio, aiohttp, redis, requests, websocket and jwt" \
			"(apt-get install python3-socketio python3-aiohttp python3-redis python3-requests" \
			"python3-websocket python3-jwt)"; ok=0; \
	fi; \
	if ! command -v node >/dev/null 2>&1; then \
		echo "missing: node and npm (Node.js 20)"; ok=0; \
	elif [ ! -d test/peers/node/node_modules/socket.io ]; then \
		echo "missing: the Node peers (cd test/peers/node && npm ci)"; ok=0; \
	fi; \
	if ! bash -c "exec 3<>/dev/tcp/$(NATS_HOST)/$(NATS_PORT)" 2>/dev/null; then \
		echo "missing: a NATS server on $(NATS_HOST):$(NATS_PORT) (nats-server -a $(NATS_HOST)" \
			"-p $(NATS_PORT) -js -sd DIR)"; ok=0; \
	fi; \
	if ! command -v chromium >/dev/null 2>&1; then \
		echo "missing: chromium (apt-get install chromium)"; ok=0; \
	fi; \
	if ! redis-cli -h $(REDIS_HOST) -p $(REDIS_PORT) ping >/dev/null 2>&1; then \
		echo "missing: a Redis on $(REDIS_HOST):$(REDIS_PORT) (redis-server --daemonize yes" \
			"--bind 127.0.0.1 --port $(REDIS_PORT) --save '' --appendonly no)"; ok=0; \
	fi; \
	test $$ok = 1

# One run: worker emit throughput against redis-benchmark and python-socketio
# (bench/benchcmp), then our server's fan-out against Node socket.io
# (bench/fanoutbench; needs taskset, node and the Node peers), then the
# latency from a worker's emit to a client of our server and of
# python-socketio 5.7.2 (bench/clusterbench), then the Worker's emit
# rate over every transport against each broker's ceiling and against
# watermill-redisstream (bench/transportbench; needs nats-server).
# bench/ is its own module, so what only the benches use (watermill-nats,
# watermill-redisstream, the websocket libraries of bench/wsbench) stays
# out of the library's go.mod.
bench:
	$(GO) -C bench run ./benchcmp
	$(GO) -C bench run ./fanoutbench
	$(GO) -C bench run ./clusterbench
	$(GO) -C bench run ./transportbench

demo:
	$(GO) run ./cmd/demo

# Every Fuzz target of every package, FUZZTIME each.
fuzz:
	@set -e; \
	list=$$($(GO) test -list '^Fuzz' ./...); \
	echo "$$list" | awk ' \
		/^Fuzz/ { names[n++] = $$1; next } \
		/^ok/   { for (i = 0; i < n; i++) print $$2, names[i] } \
		        { n = 0 }' | \
	while read -r pkg target; do \
		echo "== $$pkg $$target ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
	done

lint:
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	@set -e; for m in $(MODULES); do \
		echo "== $$m"; \
		$(GO) -C $$m vet ./...; \
		$(GO) -C $$m vet -tags integration ./...; \
		$(GO) -C $$m run $(STATICCHECK) ./...; \
		$(GO) -C $$m run $(STATICCHECK) -tags integration ./...; \
	done

ci: lint test integration
