#!/usr/bin/env bash
# Find Stockfish or install it: $STOCKFISH_PATH, PATH, /usr/games/stockfish; else apt-get
# (Debian/Ubuntu) or brew (macOS); else explain what to do. Prints the path it found.
set -euo pipefail

found() { echo "$1"; exit 0; }
if [ -n "${STOCKFISH_PATH:-}" ]; then
  [ -x "$STOCKFISH_PATH" ] && found "$STOCKFISH_PATH"
  echo "STOCKFISH_PATH=$STOCKFISH_PATH is not an executable file" >&2; exit 1
fi
for cand in "$(command -v stockfish || true)" /usr/games/stockfish /usr/local/bin/stockfish /opt/homebrew/bin/stockfish; do
  [ -n "$cand" ] && [ -x "$cand" ] && found "$cand"
done

echo "Stockfish not found; installing it" >&2
if command -v apt-get >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq stockfish >&2
  [ -x /usr/games/stockfish ] && found /usr/games/stockfish
elif command -v brew >/dev/null 2>&1; then
  brew install stockfish >&2
  found "$(command -v stockfish)"
fi
cat >&2 <<'MSG'
Could not install Stockfish automatically on this system.
Download a build from https://stockfishchess.org/download/, then either put `stockfish` on your
PATH or set STOCKFISH_PATH=/path/to/stockfish, and run the command again.
MSG
exit 1
