#!/usr/bin/env bash
# Renders the caller-utterance fixtures: Debian's flite voices speak each phrase, sox trims
# the voice's own silence, pads known silence (so speech starts at exactly LEAD ms), band-
# limits to the telephone band, round-trips through G.711 mu-law at 8 kHz and writes 16-bit
# PCM WAV; some get line noise mixed in. Also renders non-speech (silence, noise, tones,
# "hold music", DTMF). Writes manifest.tsv. Needs: flite, sox. Deterministic output.
set -euo pipefail
cd "$(dirname "$0")"
LEAD_MS=500
TAIL_MS=800
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Repeatable mode: the same noise and "music" on every run.
sox() { command sox -R "$@"; }

printf 'file\tvoice\tnoise\tspeech_start_ms\tspeech_end_ms\ttext\n' > manifest.tsv

# G.711 round trip: 8 kHz, 300-3400 Hz band, mu-law, back to 16-bit PCM.
telephone() { # in out
  sox "$1" -r 8000 -c 1 "$tmp/band.wav" sinc 300-3400 norm -3
  sox "$tmp/band.wav" -e u-law "$tmp/ulaw.wav"
  sox "$tmp/ulaw.wav" -e signed-integer -b 16 "$2"
}

render() { # name voice noise text
  local name=$1 voice=$2 noise=$3 text=$4
  flite -voice "$voice" -t "$text" -o "$tmp/raw.wav"
  # Trim the voice's own leading and trailing silence so the boundaries are known.
  sox "$tmp/raw.wav" "$tmp/trim.wav" silence 1 0.01 0.3% reverse silence 1 0.01 0.3% reverse
  local speech_ms
  speech_ms=$(soxi -D "$tmp/trim.wav" | awk '{printf "%d", $1 * 1000}')
  sox "$tmp/trim.wav" "$tmp/pad.wav" pad "0.${LEAD_MS}" "0.${TAIL_MS}"
  if [ "$noise" = none ]; then
    telephone "$tmp/pad.wav" "$name.wav"
  else
    local dur
    dur=$(soxi -D "$tmp/pad.wav")
    sox -n -r "$(soxi -r "$tmp/pad.wav")" -c 1 "$tmp/noise.wav" synth "$dur" pinknoise vol "$noise"
    sox -m "$tmp/pad.wav" "$tmp/noise.wav" "$tmp/mix.wav"
    telephone "$tmp/mix.wav" "$name.wav"
  fi
  printf '%s.wav\t%s\t%s\t%d\t%d\t%s\n' "$name" "$voice" "$noise" "$LEAD_MS" $((LEAD_MS + speech_ms)) "$text" >> manifest.tsv
}

render balance-slt      slt none  "What's my balance?"
render lost-card-rms    rms none  "I lost my card."
render dispute-awb      awb none  "I want to dispute a charge."
render digits-slt       slt none  "four four seven one"
render agent-kal        kal none  "Agent."
render transfer-rms     rms none  "I'd like to transfer money to my savings account."
render yes-awb          awb none  "Yes, that's right."
render no-slt           slt none  "No, I don't want that."
render statement-kal    kal none  "Can you send me my last statement?"
render stolen-slt-noisy slt 0.06  "My card was stolen yesterday."
render balance-awb-noisy awb 0.06 "What's my balance?"
render digits-rms-noisy rms 0.06  "one two three four five six"

# Non-speech: what a line carries when nobody talks.
sox -n -r 8000 -c 1 -b 16 silence.wav trim 0 3
sox -n -r 8000 -c 1 "$tmp/n.wav" synth 3 pinknoise vol 0.1
telephone "$tmp/n.wav" line-noise.wav
# Hold music: a chord progression with a melody on top.
sox -n -r 8000 -c 1 "$tmp/m1.wav" synth 1 pluck C4 pluck E4 pluck G4 remix - vol 0.5
sox -n -r 8000 -c 1 "$tmp/m2.wav" synth 1 pluck D4 pluck F#4 pluck A4 remix - vol 0.5
sox -n -r 8000 -c 1 "$tmp/m3.wav" synth 1 sine E4 sine G#4 sine B4 remix - vol 0.5
sox "$tmp/m1.wav" "$tmp/m2.wav" "$tmp/m3.wav" "$tmp/m1.wav" "$tmp/music.wav"
telephone "$tmp/music.wav" hold-music.wav
# DTMF digits 4 4 7 1: 100 ms tones, 100 ms gaps.
parts=()
for pair in "770 1209" "770 1209" "852 1209" "697 1209"; do
  set -- $pair
  sox -n -r 8000 -c 1 "$tmp/d$#-${#parts[@]}.wav" synth 0.1 sine "$1" sine "$2" remix - vol 0.5 pad 0 0.1
  parts+=("$tmp/d$#-${#parts[@]}.wav")
done
sox "${parts[@]}" "$tmp/dtmf.wav"
telephone "$tmp/dtmf.wav" dtmf-4471.wav
# Dial tone (350 + 440 Hz), 3 s.
sox -n -r 8000 -c 1 "$tmp/dial.wav" synth 3 sine 350 sine 440 remix - vol 0.5
telephone "$tmp/dial.wav" dial-tone.wav
for f in silence line-noise hold-music dtmf-4471 dial-tone; do
  printf '%s.wav\t-\t-\t-\t-\t\n' "$f" >> manifest.tsv
done
