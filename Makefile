# otpd - plain GNU make with pkg-config.
#   make            build build/otpd
#   make run        install what is missing, build, start on 127.0.0.1:8080
#   make test       install what is missing, build, run every suite
#   make lint       clang-format check;  make format  rewrite in place
#   make bench      install what is missing, build, run bench/run (report in bench/)
#   make SANITIZE=address,undefined test   the same under ASan + UBSan
PKGS     := libmicrohttpd jansson libsodium sqlite3 hiredis libcurl
SANITIZE ?=
BUILD    ?= build$(if $(SANITIZE),-san)
CC       ?= cc
PYTHON   ?= /usr/bin/python3

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -Isrc \
	    $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(sort $(wildcard src/core/*.c src/engine/*.c src/store/*.c src/store/sqlite/*.c \
	      src/sms/*.c src/outbox/*.c src/http/*.c src/handlers/*.c \
	      src/provider/*.c))
LIB_SRC  += $(sort $(wildcard src/store/sqlite/*.c src/store/redis/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all run test unit http lint format deps-build deps-test clean docs bench
all: $(BUILD)/otpd $(BUILD)/otpctl
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libotpd.a: $(LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/otpd: $(BUILD)/src/main.o $(BUILD)/libotpd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/otpctl: $(BUILD)/src/otpctl.o $(BUILD)/libotpd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libotpd.a tests/unit/harness.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -MMD -MP -o $@ $< $(BUILD)/libotpd.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/seed: bench/seed.c $(BUILD)/libotpd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libotpd.a $(LDFLAGS) $(LDLIBS)

deps-build:
	@scripts/deps build
deps-test:
	@scripts/deps test

run: deps-build
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	@echo "otpd: metrics on the admin listener, http://127.0.0.1:9464/metrics"
	./$(BUILD)/otpd --listen 127.0.0.1:8080 --admin-listen 127.0.0.1:9464 --store sqlite:./var/otpd.db --sms console

test: deps-test
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(BUILD)/bench/seed
	@scripts/run-tests $(BUILD) $(PYTHON)

unit: $(UNIT_BIN)
	@scripts/run-tests $(BUILD) $(PYTHON) unit

http: all
	@scripts/run-tests $(BUILD) $(PYTHON) http

bench:
	@scripts/deps bench
	@$(MAKE) --no-print-directory all $(BUILD)/bench/seed
	@bench/run --build $(BUILD)

docs: all
	./$(BUILD)/otpd --help-md > docs/CONFIG.md

lint:
	clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.h')

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
