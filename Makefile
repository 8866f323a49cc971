# voxreel — two commands do everything on a fresh Debian 12 machine:
#   make demo   installs dependencies, builds, renders samples/demo.md → out/demo.mp4
#   make test   installs dependencies and runs every test
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
VOXREEL := $(TARGET_DIR)/release/voxreel

.PHONY: setup build demo demo-zh test fmt

# System packages, then Kokoro-82M, its English lexicons and Mandarin pinyin tables into
# $VOXREEL_HOME/models/kokoro, then the pocketsphinx venv for the Kokoro intelligibility test
# ($VOXREEL_HOME/venvs/asr) (the fetch scripts are idempotent: a second run only checks).
setup:
	bash scripts/setup.sh
	bash scripts/fetch-kokoro.sh && bash scripts/fetch-kokoro-lexicon.sh && bash scripts/fetch-zh-frontend.sh
	bash scripts/fetch-asr.sh

build: setup
	cargo build --release --locked -p voxreel-cli

demo: build
	mkdir -p out
	$(VOXREEL) render --voice samples/voices/librispeech-367.flac --script samples/demo.md -o out/demo.mp4

demo-zh: build
	mkdir -p out
	$(VOXREEL) render --voice samples/voices/librispeech-367.flac --script samples/demo-zh-TW.md --lang zh-TW -o out/demo-zh-TW.mp4

test: setup
	cargo test --release --locked --workspace --features voxreel/espeak

fmt:
	cargo fmt --all
