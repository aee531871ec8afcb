#!/usr/bin/env bash
# Renders every prompts/<lang>/*.txt list (lines "id<TAB>text", # comments) to
# prompts/<lang>/<id>.wav: flite's "slt" voice, then sox to 8 kHz mono 16-bit PCM with
# silence trimmed at both ends and the peak normalised to -3 dBFS.
# Only entries whose text (or these settings) changed are rendered again: a hash per
# prompt is kept in prompts/<lang>/.rendered. Pass --force to render everything.
# A line "id<TAB>recorded" there marks a human recording that is never overwritten.
# Needs the Debian packages flite and sox.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
voice="slt"
settings="flite:${voice}|rate:8000|trim:0.02s@0.5%|norm:-3"
force=0
[[ "${1:-}" == "--force" ]] && force=1

for tool in flite sox sha256sum; do
    command -v "$tool" >/dev/null || { echo "render.sh: $tool is not installed (apt-get install flite sox)" >&2; exit 1; }
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
rendered=0
kept=0

for list in "$here"/*/*.txt; do
    [[ -e "$list" ]] || continue
    dir="$(dirname "$list")"
    cache="$dir/.rendered"
    touch "$cache"
    line_no=0
    while IFS= read -r line || [[ -n "$line" ]]; do
        line_no=$((line_no + 1))
        [[ -z "$line" || "$line" == \#* ]] && continue
        if [[ "$line" != *$'\t'* ]]; then
            echo "render.sh: $list:$line_no: expected id<TAB>text" >&2
            exit 1
        fi
        id="${line%%$'\t'*}"
        text="${line#*$'\t'}"
        wav="$dir/$id.wav"
        hash="$(printf '%s|%s' "$settings" "$text" | sha256sum | cut -c1-16)"
        if [[ -f "$wav" ]] && grep -qx "$id	recorded" "$cache"; then
            kept=$((kept + 1))   # a human recording: never overwritten
            continue
        fi
        if [[ $force -eq 0 && -f "$wav" ]] && grep -qx "$id	$hash" "$cache"; then
            kept=$((kept + 1))
            continue
        fi
        flite -voice "$voice" -t "$text" -o "$tmp/raw.wav"
        sox "$tmp/raw.wav" -b 16 -c 1 "$tmp/out.wav" \
            silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
            rate -v 8000 norm -3
        mv "$tmp/out.wav" "$wav"
        grep -v "^$id	" "$cache" > "$tmp/cache" || true
        printf '%s\t%s\n' "$id" "$hash" >> "$tmp/cache"
        sort "$tmp/cache" > "$cache"
        rendered=$((rendered + 1))
    done < "$list"
done
echo "render.sh: rendered $rendered, unchanged $kept"
