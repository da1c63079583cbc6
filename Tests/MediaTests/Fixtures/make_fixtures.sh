#!/usr/bin/env bash
# Makes the small media files the Media tests read. Run from this folder:
#   bash make_fixtures.sh
# Needs the ffmpeg CLI (Debian's ffmpeg 5.1). The outputs are committed; the tests never run this.
set -euo pipefail
F="ffmpeg -hide_banner -loglevel error -y"
SRC="testsrc2=size=320x240:rate=25:duration=3"
TONE="aevalsrc=0.4*sin(2*PI*440*t)+0.1*sin(2*PI*3100*t)|0.3*sin(2*PI*660*t)+0.05*sin(2*PI*5200*t):s=44100:d=3"

# H.264 + AAC stereo 44.1 kHz in MP4, keyframe every 25 frames, B-frames on. Tones only: noise would
# make the AAC encoder use noise substitution, whose decoded noise depends on where decoding began.
$F -f lavfi -i "$SRC" -f lavfi -i "$TONE" -c:v libx264 -preset veryfast -crf 26 -g 25 -bf 2 -pix_fmt yuv420p \
   -c:a aac -b:a 96k -ac 2 -shortest h264.mp4
# MPEG-4 part 2 + PCM mono 48 kHz in AVI.
$F -f lavfi -i "$SRC" -f lavfi -i "sine=frequency=523:sample_rate=48000:duration=3" -c:v mpeg4 -q:v 12 -g 12 \
   -c:a pcm_s16le -ac 1 mpeg4.avi
# VP9 + Opus in WebM.
$F -f lavfi -i "$SRC" -f lavfi -i "$TONE" -c:v libvpx-vp9 -b:v 300k -g 30 -deadline realtime -cpu-used 8 \
   -c:a libopus -b:a 64k -ar 48000 -shortest vp9.webm
# Variable frame rate: gaps of 50, 50, 20 ms repeating (t_n = 0.04 n + 0.01 (n mod 3)), H.264 in MP4.
$F -f lavfi -i "$SRC" -vf "settb=1/1000,setpts=(0.04*N+0.01*mod(N\\,3))/TB" -fps_mode passthrough \
   -enc_time_base 1/1000 -c:v libx264 -preset veryfast -crf 26 -g 20 -video_track_timescale 1000 -an vfr.mp4

# Narrations: one set of cues as SubRip, WebVTT, and as streams inside MP4 (mov_text),
# Matroska (subrip) and WebM (webvtt).
cat > narration.srt <<'SRT'
1
00:00:00,250 --> 00:00:01,100
First we take the bowl.

2
00:00:01,200 --> 00:00:02,000
Then <i>stir</i> slowly.

3
00:00:02,100 --> 00:00:02,900
Welcome back, and subscribe!
SRT
cat > narration.vtt <<'VTT'
WEBVTT

NOTE made by make_fixtures.sh

cue-1
00:00.250 --> 00:01.100 align:start
First we take the bowl.

00:00:01.200 --> 00:00:02.000
Then <i>stir</i> slowly.

00:00:02.100 --> 00:00:02.900
Welcome back, and subscribe!
VTT
$F -i h264.mp4 -i narration.srt -map 0 -map 1 -c:v copy -c:a copy -c:s mov_text subs_movtext.mp4
$F -i h264.mp4 -i narration.srt -map 0:v -map 1 -c:v copy -c:s subrip subs_subrip.mkv
$F -i vp9.webm -i narration.vtt -map 0:v -map 1 -c:v copy -c:s webvtt subs_webvtt.webm

# Audio-only and video-only files.
$F -f lavfi -i "sine=frequency=440:sample_rate=22050:duration=1" -c:a pcm_s16le tone.wav
$F -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=1" -c:a flac tone.flac
$F -i h264.mp4 -an -c:v copy video_only.mp4

# Bad files: garbage bytes, a truncated MP4 (its index at the end is cut off), a file with
# corrupted packets, an unknown codec (the Matroska codec id of an FFV1 stream renamed).
python3 -c "import random; random.seed(7); open('garbage.mp4','wb').write(bytes(random.randrange(256) for _ in range(20000)))"
head -c 60000 h264.mp4 > truncated.mp4
python3 - <<'PY'
data = bytearray(open('h264.mp4', 'rb').read())
import random
random.seed(3)
# Overwrite bytes inside the media data, leaving the header and index intact.
start = data.find(b'mdat') + 4000
for k in range(40):
    data[start + k * 1500 : start + k * 1500 + 40] = bytes(random.randrange(256) for _ in range(40))
open('corrupt_packets.mp4', 'wb').write(bytes(data))
PY
$F -f lavfi -i "testsrc2=size=64x48:rate=5:duration=1" -c:v mpeg4 unknown_codec.mkv
python3 - <<'PY'
data = open('unknown_codec.mkv', 'rb').read()
assert data.count(b'V_MPEG4/ISO/ASP') == 1
open('unknown_codec.mkv', 'wb').write(data.replace(b'V_MPEG4/ISO/ASP', b'V_MPEG4/ISO/QQQ'))
PY
printf '1\n00:00:01,000 -> 00:00:02,000\nbroken arrow\n' > malformed.srt
printf 'WEBVTT\n\n00:01.000 --> 00:00.500\nends before it starts\n' > malformed.vtt
printf 'not a vtt file\n' > noheader.vtt
: > empty.mp4
ls -la
