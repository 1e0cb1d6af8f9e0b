# Vigil: the two commands of README.md, and the few around them.
#   make run    install what is missing, build, replay the bundled demo data, serve the UI
#   make test   install what is missing, build, run every test
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build test run bench clean format ui

all: build

deps:
	@bash scripts/install-deps

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)
	@$(MAKE) --no-print-directory ui

# The web UI (npm ci from the lock file, vite build) into $(BUILD)/ui, next to the binary.
ui:
	bash ui/build.sh $(BUILD)

test: CMAKE_FLAGS += -DVIGIL_WERROR=$(if $(CI),ON,OFF)
test:
	@bash scripts/install-deps --test
	@$(MAKE) --no-print-directory build CMAKE_FLAGS="$(CMAKE_FLAGS)"
	bash scripts/run-tests $(BUILD)

run: build
	./$(BUILD)/vigil demo --state ./vigil-data --serve

bench: build
	bash bench/run $(BUILD)

format:
	clang-format -i $$(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'bench/*.cc' 'fuzz/*.cc')

clean:
	rm -rf $(BUILD)
