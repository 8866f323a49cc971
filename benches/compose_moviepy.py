"""The composition of `compose-bench` done with MoviePy 2, the way MoviePy-based
short-video generators do it: the same six pictures with a slow zoom and 0.5 s
crossfades, one caption every 2 s (white text, dark outline), the same narration
WAV, 1080x1920 at 30 fps, libx264 `veryfast` CRF 20, AAC. (No word highlight:
MoviePy generators do not do it, so this comparison favours MoviePy.)

usage: compose_moviepy.py DIR SECONDS   (DIR holds scene0..5.png and narration-SECONDS.wav)
"""
import json
import sys
import time

from moviepy import AudioFileClip, CompositeVideoClip, ImageClip, TextClip, vfx

WORDS = ("Honeybees visit millions of flowers in a single season, and foragers "
         "dance to show the way.").split()
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def main():
    d, seconds = sys.argv[1], float(sys.argv[2])
    if seconds == int(seconds):
        seconds = int(seconds)
    t0 = time.time()
    W, H = 1080, 1920
    per = seconds / 6
    layers = []
    for k in range(6):
        start = max(0.0, k * per - 0.25)
        dur = per + (0.25 if k == 0 else 0.5)
        img = ImageClip(f"{d}/scene{k}.png").with_duration(dur)
        base = max(W / img.w, H / img.h)
        zoom_in = k % 2 == 0
        img = img.resized(lambda t, b=base, z=zoom_in, du=dur:
                          b * (1.0 + 0.1 * (t / du if z else 1 - t / du)))
        img = img.with_position("center").with_start(start)
        if k > 0:
            img = img.with_effects([vfx.CrossFadeIn(0.5)])
        layers.append(img)
    title = (TextClip(font=FONT, text="How Bees Find Flowers", font_size=84, color="white",
                      stroke_color="#0c0c10", stroke_width=6, method="caption", size=(860, None))
             .with_start(0).with_duration(per).with_position(("center", 230)))
    layers.append(title)
    for i in range(int(seconds // 2)):
        words = [WORDS[(i * 8 + j) % len(WORDS)] for j in range(8)]
        text = " ".join(words[:4]) + "\n" + " ".join(words[4:])
        cap = (TextClip(font=FONT, text=text, font_size=62, color="white",
                        stroke_color="#0c0c10", stroke_width=6, method="label")
               .with_start(i * 2.0).with_duration(1.9).with_position(("center", 1320)))
        layers.append(cap)
    video = CompositeVideoClip(layers, size=(W, H)).with_duration(seconds)
    video = video.with_audio(AudioFileClip(f"{d}/narration-{seconds}.wav"))
    video.write_videofile(f"{d}/moviepy.mp4", fps=30, codec="libx264", preset="veryfast",
                          ffmpeg_params=["-crf", "20"], audio_codec="aac", audio_bitrate="160k",
                          threads=2, logger=None)
    print(json.dumps({"what": "MoviePy 2 compose", "video_s": seconds,
                      "wall_s": time.time() - t0}))


if __name__ == "__main__":
    main()
