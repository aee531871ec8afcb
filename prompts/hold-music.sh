#!/usr/bin/env bash
# Makes prompts/<lang>/hold-music.wav, the loop a queued caller hears: a slow plucked
# arpeggio (I-vi-IV-V in C) at 8 kHz mono 16-bit, quiet (-14 dBFS peak) so announcements
# stand out, each note decayed to silence so the loop joins without a click.
# Needs sox. Marked "recorded" in .rendered so render.sh never overwrites it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
lang="${1:-en-US}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
i=0
for chord in "C4 E4 G4 E4" "A3 C4 E4 C4" "F3 A3 C4 A3" "G3 B3 D4 B3"; do
    for note in $chord; do
        i=$((i + 1))
        sox -n -r 8000 -b 16 -c 1 "$tmp/$(printf %03d $i).wav" \
            synth 0.5 pluck "$note" synth 0.5 sine amod 0.3 fade 0.01 0.5 0.2
    done
done
sox "$tmp"/*.wav "$tmp/loop.wav" norm -14
mv "$tmp/loop.wav" "$here/$lang/hold-music.wav"
cache="$here/$lang/.rendered"
grep -v "^hold-music	" "$cache" > "$tmp/cache" || true
printf 'hold-music\trecorded\n' >> "$tmp/cache"
sort "$tmp/cache" > "$cache"
echo "hold-music.sh: wrote $lang/hold-music.wav"
