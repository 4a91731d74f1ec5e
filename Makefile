# otpd - plain GNU make with pkg-config.
#   make            build build/otpd
#   make run        install what is missing, build, start on 127.0.0.1:8080
#   make test       install what is missing, build, run every suite
#   make lint       clang-format check;  make format  rewrite in place
#   make bench      install what is missing, build, run bench/run (report in bench/)
#   make SANITIZE=address,undefined test   the same under ASan + UBSan
#   make fuzz FUZZ_S=N   the libFuzzer targets of tests/fuzz/, N s each
#   make test-extra  only the ASan+UBSan, TSan and fuzz suites of make test
PKGS     := libmicrohttpd jansson libsodium sqlite3 hiredis libcurl
SANITIZE ?=
BUILD    ?= build$(if $(SANITIZE),-san)
CC       ?= cc
PYTHON   ?= /usr/bin/python3
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := $(shell cat VERSION)$(shell git describe --always --dirty 2>/dev/null | sed 's/^/+git./')

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -Isrc \
	    $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -pthread
# libphonenumber: Debian ships no .pc file, so by hand; its headers need C++17.
CXXFLAGS ?= -O2 -g
CXXFLAGS += -std=c++17 -Wall -Wextra -Werror -pthread -Isrc
LDLIBS   += -lphonenumber -lstdc++
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

LIB_SRC  := $(sort $(wildcard src/core/*.c src/engine/*.c src/store/*.c src/store/sqlite/*.c \
	      src/sms/*.c src/outbox/*.c src/http/*.c src/handlers/*.c \
	      src/provider/*.c src/ctl/*.c src/abuse/*.c))
LIB_SRC  += $(sort $(wildcard src/store/sqlite/*.c src/store/redis/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB_OBJ  += $(BUILD)/src/core/phone_lpn.o
# tests/unit/<part>/ mirrors src/<part>/; the binaries stay flat in
# $(BUILD)/tests/ (names are unique), found through vpath.
UNIT_SRC := $(sort $(wildcard tests/unit/*/test_*.c tests/unit/test_*.c))
UNIT_BIN := $(addprefix $(BUILD)/tests/,$(basename $(notdir $(UNIT_SRC))))
vpath test_%.c $(sort $(dir $(UNIT_SRC)))

.PHONY: all run test unit http fault lint format deps-build deps-test clean docs bench
.PHONY: man install uninstall FORCE fuzz fuzz-bins abuse-sim
all: $(BUILD)/otpd $(BUILD)/otpctl $(BUILD)/otpd.8
$(BUILD)/src/core/config_text.o: CFLAGS += -DOTPD_VERSION='"$(VERSION)"'
$(BUILD)/src/core/config_text.o: $(BUILD)/version
$(BUILD)/version: FORCE
	@mkdir -p $(BUILD)
	@echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' > $@
FORCE:
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.cc
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS) $(if $(SANITIZE),-fsanitize=$(SANITIZE)) -MMD -MP -c $< -o $@

# The login page's script (src/handlers/login_app.js) as a C string
# literal for login_page.c: backslashes, quotes and "?" (no trigraphs)
# escaped, one "...\n" per line.
CFLAGS   += -I$(BUILD)/gen
$(BUILD)/gen/login_app_js.h: src/handlers/login_app.js
	@mkdir -p $(dir $@)
	sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/?/\\?/g' -e 's/^/"/' \
	    -e 's/$$/\\n"/' $< > $@.tmp && mv $@.tmp $@
$(BUILD)/src/handlers/login_page.o: $(BUILD)/gen/login_app_js.h

$(BUILD)/libotpd.a: $(LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/otpd: $(BUILD)/src/main.o $(BUILD)/libotpd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/otpctl: $(BUILD)/src/otpctl.o $(BUILD)/libotpd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/otpd.8: $(BUILD)/otpd
	./$(BUILD)/otpd --help-man > $@
man: $(BUILD)/otpd.8

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 0755 $(BUILD)/otpd $(BUILD)/otpctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(BUILD)/otpd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	sed 's|@PREFIX@|$(PREFIX)|g' packaging/otpd.service \
	    > $(DESTDIR)$(PREFIX)/lib/systemd/system/otpd.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/otpd.service
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/otpd $(DESTDIR)$(PREFIX)/bin/otpctl \
	    $(DESTDIR)$(PREFIX)/share/man/man8/otpd.8 \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/otpd.service

$(BUILD)/tests/test_%: test_%.c $(BUILD)/libotpd.a tests/unit/harness.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -MMD -MP -o $@ $< $(filter %.o,$^) $(BUILD)/libotpd.a $(LDFLAGS) $(LDLIBS)
# The store contract, compiled once, linked into each backend's runner.
CONTRACT_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(sort $(wildcard tests/contract/*.c)))
$(addprefix $(BUILD)/tests/test_store_,sqlite sqlite_full redis redis_cache cache faults): $(CONTRACT_OBJ)

$(BUILD)/bench/seed: bench/seed.c $(BUILD)/libotpd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(BUILD)/libotpd.a $(LDFLAGS) $(LDLIBS)

# The SMS-pumping simulator (bench/abuse/): the real engine and stores.
SIM_SRC  := $(sort $(wildcard bench/abuse/*.c))
SIM_OBJ  := $(SIM_SRC:%.c=$(BUILD)/%.o)
$(SIM_OBJ): CFLAGS += -Ibench/abuse
$(BUILD)/bench/abuse-sim: $(SIM_OBJ) $(BUILD)/libotpd.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(SIM_OBJ) $(BUILD)/libotpd.a $(LDLIBS) -lm
abuse-sim: $(BUILD)/bench/abuse-sim

# The libFuzzer targets: clang for everything in build-fuzz/ (libotpd with
# coverage, the libphonenumber shim with clang++), each target linked with
# libFuzzer's main; scripts/run-fuzz runs them on a scratch corpus.
FUZZ_S   ?= 60
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_MAKE = $(MAKE) --no-print-directory BUILD=build-fuzz CC=clang \
	    CXX=clang++ SANITIZE=fuzzer-no-link,address,undefined
fuzz-bins: $(FUZZ_BIN)
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libotpd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Itests/fuzz -MMD -MP -o $@ $< \
	    $(BUILD)/libotpd.a $(LDFLAGS) -fsanitize=fuzzer \
	    -fsanitize-link-c++-runtime $(LDLIBS)
fuzz:
	@scripts/deps fuzz
	@$(FUZZ_MAKE) fuzz-bins
	@scripts/run-fuzz build-fuzz $(FUZZ_S)

deps-build:
	@scripts/deps build
deps-test:
	@scripts/deps test

run: deps-build
	@$(MAKE) --no-print-directory all
	@mkdir -p var
	@echo "otpd: metrics on the admin listener, http://127.0.0.1:9464/metrics"
	./$(BUILD)/otpd --listen 127.0.0.1:8080 --admin-listen 127.0.0.1:9464 --store sqlite:./var/otpd.db --sms console

# Besides the plain suites make test runs (unless SANITIZE is set, which
# makes it one of them): every unit binary and contract runner under ASan +
# UBSan (build-san/), the ones that start threads under TSan (build-tsan/),
# and each fuzz target for 2 s (build-fuzz/). Each tree is its own, so none
# of them touches build/.
TSAN_TESTS   := test_outbox test_store_sqlite test_store_cache \
		test_store_redis test_store_redis_cache test_store_faults test_limiter test_metrics \
		test_http_server test_sms test_phone test_fiber
EXTRA_SUITES ?= $(if $(SANITIZE),,san tsan fuzz)
SAN_JOBS     ?= 2
.PHONY: unit-bins tsan-bins extra-bins test-extra
unit-bins: $(UNIT_BIN)
tsan-bins: $(addprefix $(BUILD)/tests/,$(TSAN_TESTS))
extra-bins:
ifneq ($(filter san,$(EXTRA_SUITES)),)
	@$(MAKE) --no-print-directory -j$(SAN_JOBS) BUILD=build-san \
	    SANITIZE=address,undefined unit-bins
endif
ifneq ($(filter tsan,$(EXTRA_SUITES)),)
	@$(MAKE) --no-print-directory -j$(SAN_JOBS) BUILD=build-tsan \
	    SANITIZE=thread tsan-bins
endif
ifneq ($(filter fuzz,$(EXTRA_SUITES)),)
	@$(FUZZ_MAKE) -j$(SAN_JOBS) fuzz-bins
endif

EXTRA_ENV = OTPD_EXTRA_SUITES='$(EXTRA_SUITES)' OTPD_TSAN_TESTS='$(TSAN_TESTS)'
test: deps-test
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(BUILD)/bench/seed \
	    $(BUILD)/bench/abuse-sim
	@$(MAKE) --no-print-directory extra-bins
	@$(EXTRA_ENV) scripts/run-tests $(BUILD) $(PYTHON)
# only the sanitizer and fuzz suites
test-extra: deps-test
	@$(MAKE) --no-print-directory extra-bins
	@$(EXTRA_ENV) scripts/run-tests $(BUILD) $(PYTHON) extra

unit: $(UNIT_BIN) $(BUILD)/bench/abuse-sim
	@scripts/run-tests $(BUILD) $(PYTHON) unit

http: all
	@scripts/run-tests $(BUILD) $(PYTHON) http

fault: all
	@scripts/run-tests $(BUILD) $(PYTHON) fault

bench:
	@scripts/deps bench
	@$(MAKE) --no-print-directory all $(BUILD)/bench/seed \
	    $(BUILD)/bench/abuse-sim
	@bench/run --build $(BUILD)

docs: all
	./$(BUILD)/otpd --help-md > docs/CONFIG.md

lint:
	clang-format --dry-run --Werror $(shell git ls-files '*.c' '*.h')

format:
	clang-format -i $(shell git ls-files '*.c' '*.h')

clean:
	rm -rf build build-san build-tsan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
