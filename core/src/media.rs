//! Encoding and muxing with FFmpeg (ffmpeg-next): H.264 (libx264, High,
//! yuv420p, BT.709) and AAC-LC 48 kHz stereo in an MP4 whose `moov` atom comes
//! first (fast start), so players and platforms can start before the download ends.
//!
//! [`Mp4Writer`] takes RGB24 frames in order and the whole soundtrack up front;
//! audio packets are interleaved with video as frames arrive.

use std::path::Path;

use ff::{codec, encoder, format, frame, Dictionary, Packet, Rational};
use ffmpeg_next as ff;
use serde::{Deserialize, Serialize};

use crate::audio::Audio;
use crate::{Error, Result};

/// Video output settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoSpec {
    /// Width in pixels (even).
    pub width: u32,
    /// Height in pixels (even).
    pub height: u32,
    /// Frames per second.
    pub fps: u32,
    /// x264 constant rate factor (lower is better; 18–23 is usual).
    pub crf: u32,
    /// x264 preset (`veryfast`, `fast`, `medium`, …).
    pub preset: String,
    /// AAC bit rate, bits per second.
    pub audio_bitrate: u32,
}

impl VideoSpec {
    /// 1080×1920 at 30 fps, CRF 20, preset `veryfast`, AAC 160 kb/s.
    pub fn vertical() -> Self {
        VideoSpec {
            width: 1080,
            height: 1920,
            fps: 30,
            crf: 20,
            preset: "veryfast".into(),
            audio_bitrate: 160_000,
        }
    }
}

/// Sample rate of the encoded soundtrack.
pub const AUDIO_RATE: u32 = 48_000;

/// What [`Mp4Writer::finish`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Mp4Stats {
    /// Video frames written.
    pub frames: u64,
    /// Video duration, seconds.
    pub duration_s: f64,
    /// AAC frames written.
    pub audio_packets: u64,
}

/// Silences FFmpeg's own log output except errors. FFmpeg's log level is
/// process-wide, so the library never calls this itself; applications may.
pub fn quiet_ffmpeg_logs() {
    ff::util::log::set_level(ff::util::log::Level::Error);
}

fn enc_err(stage: &str) -> impl Fn(ff::Error) -> Error + '_ {
    move |e| Error::Encode {
        stage: stage.into(),
        reason: e.to_string(),
    }
}

/// Streams RGB frames and a soundtrack into an MP4.
pub struct Mp4Writer {
    octx: format::context::Output,
    video: encoder::video::Encoder,
    audio: encoder::audio::Encoder,
    vst: usize,
    ast: usize,
    vtb: Rational,
    atb: Rational,
    spec: VideoSpec,
    yuv: frame::Video,
    frames: u64,
    soundtrack: Vec<f32>,
    audio_pos: usize,
    audio_frame: usize,
    audio_packets: u64,
}

impl std::fmt::Debug for Mp4Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mp4Writer")
            .field("spec", &self.spec)
            .field("frames", &self.frames)
            .finish()
    }
}

impl Mp4Writer {
    /// Opens `path` (any name: the container is always MP4) for writing.
    /// `soundtrack` must be mono at [`AUDIO_RATE`]; it is encoded as stereo AAC.
    /// `metadata` entries become container tags (`title`, `comment`, …).
    pub fn create(
        path: &Path,
        spec: &VideoSpec,
        soundtrack: &Audio,
        metadata: &[(String, String)],
    ) -> Result<Mp4Writer> {
        if soundtrack.sample_rate != AUDIO_RATE {
            return Err(Error::InvalidArgument {
                name: "soundtrack".into(),
                reason: format!("must be {AUDIO_RATE} Hz, got {}", soundtrack.sample_rate),
            });
        }
        if spec.width == 0
            || spec.height == 0
            || spec.width % 2 == 1
            || spec.height % 2 == 1
            || spec.width > 7680
            || spec.height > 7680
        {
            return Err(Error::InvalidArgument {
                name: "video size".into(),
                reason: format!(
                    "{}×{} (even sizes up to 7680 expected)",
                    spec.width, spec.height
                ),
            });
        }
        if !(1..=120).contains(&spec.fps) {
            return Err(Error::InvalidArgument {
                name: "fps".into(),
                reason: format!("{} (1–120 expected)", spec.fps),
            });
        }
        ff::init().map_err(enc_err("initialising FFmpeg"))?;
        let mut octx =
            format::output_as(path, "mp4").map_err(enc_err("creating the output file"))?;
        let global_header = octx.format().flags().contains(format::Flags::GLOBAL_HEADER);

        // Video: libx264.
        let h264 = encoder::find_by_name("libx264").ok_or_else(|| Error::MissingDependency {
            what: "FFmpeg with the libx264 H.264 encoder".into(),
            install: "apt-get install libavcodec-dev (Debian's FFmpeg includes libx264)".into(),
        })?;
        let vtb = Rational::new(1, spec.fps as i32);
        let mut venc = codec::context::Context::new_with_codec(h264)
            .encoder()
            .video()
            .map_err(enc_err("setting up H.264"))?;
        venc.set_width(spec.width);
        venc.set_height(spec.height);
        venc.set_format(format::Pixel::YUV420P);
        venc.set_time_base(vtb);
        venc.set_frame_rate(Some(Rational::new(spec.fps as i32, 1)));
        venc.set_colorspace(ff::color::Space::BT709);
        venc.set_color_range(ff::color::Range::MPEG);
        venc.set_color_primaries(ff::color::Primaries::BT709);
        venc.set_color_transfer_characteristic(ff::color::TransferCharacteristic::BT709);
        if global_header {
            venc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut opts = Dictionary::new();
        opts.set("preset", &spec.preset);
        opts.set("crf", &spec.crf.to_string());
        opts.set("profile", "high");
        // A key frame at least every 2 s so platforms can seek and trim.
        opts.set(
            "x264-params",
            &format!("keyint={}:min-keyint={}", spec.fps * 2, spec.fps),
        );
        let video = venc.open_with(opts).map_err(enc_err("opening libx264"))?;
        let vst = {
            let mut st = octx
                .add_stream(h264)
                .map_err(enc_err("adding the video stream"))?;
            st.set_parameters(&video);
            st.set_time_base(vtb);
            st.index()
        };

        // Audio: FFmpeg's native AAC encoder.
        let aac = encoder::find(codec::Id::AAC).ok_or_else(|| Error::MissingDependency {
            what: "FFmpeg's AAC encoder".into(),
            install: "apt-get install libavcodec-dev".into(),
        })?;
        let atb = Rational::new(1, AUDIO_RATE as i32);
        let mut aenc = codec::context::Context::new_with_codec(aac)
            .encoder()
            .audio()
            .map_err(enc_err("setting up AAC"))?;
        aenc.set_rate(AUDIO_RATE as i32);
        aenc.set_channel_layout(ff::ChannelLayout::STEREO);
        aenc.set_format(format::Sample::F32(format::sample::Type::Planar));
        aenc.set_bit_rate(spec.audio_bitrate as usize);
        aenc.set_time_base(atb);
        if global_header {
            aenc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        // SAFETY: the context is valid and not yet opened; FFmpeg 5.x reads the
        // channel count from this field when the layout alone is not enough.
        #[allow(deprecated)]
        unsafe {
            let p = aenc.as_mut_ptr();
            if (*p).ch_layout.nb_channels == 0 {
                ff::ffi::av_channel_layout_default(&mut (*p).ch_layout, 2);
            }
        }
        let audio = aenc
            .open_with(Dictionary::new())
            .map_err(enc_err("opening the AAC encoder"))?;
        let ast = {
            let mut st = octx
                .add_stream(aac)
                .map_err(enc_err("adding the audio stream"))?;
            st.set_parameters(&audio);
            st.set_time_base(atb);
            st.index()
        };

        let mut meta = Dictionary::new();
        for (k, v) in metadata {
            if !v.is_empty() {
                meta.set(k, v);
            }
        }
        meta.set("encoder", concat!("voxreel ", env!("CARGO_PKG_VERSION")));
        octx.set_metadata(meta);
        let mut hopts = Dictionary::new();
        hopts.set("movflags", "+faststart");
        octx.write_header_with(hopts)
            .map_err(enc_err("writing the MP4 header"))?;
        let vtb_out = octx.stream(vst).map(|s| s.time_base()).unwrap_or(vtb);
        let atb_out = octx.stream(ast).map(|s| s.time_base()).unwrap_or(atb);
        let audio_frame = match audio.frame_size() {
            0 => 1024,
            n => n as usize,
        };
        Ok(Mp4Writer {
            octx,
            video,
            audio,
            vst,
            ast,
            vtb: vtb_out,
            atb: atb_out,
            yuv: frame::Video::new(format::Pixel::YUV420P, spec.width, spec.height),
            spec: spec.clone(),
            frames: 0,
            soundtrack: soundtrack.samples.clone(),
            audio_pos: 0,
            audio_frame,
            audio_packets: 0,
        })
    }

    /// Encodes one RGB24 frame (`width × height × 3` bytes).
    pub fn write_frame(&mut self, rgb: &[u8]) -> Result<()> {
        let (w, h) = (self.spec.width as usize, self.spec.height as usize);
        if rgb.len() != w * h * 3 {
            return Err(Error::InvalidArgument {
                name: "frame".into(),
                reason: format!("{} bytes, expected {}", rgb.len(), w * h * 3),
            });
        }
        rgb_to_yuv420_bt709(rgb, w, h, &mut self.yuv);
        self.yuv.set_pts(Some(self.frames as i64));
        self.video
            .send_frame(&self.yuv)
            .map_err(enc_err("encoding video"))?;
        self.frames += 1;
        self.drain_video()?;
        // Keep the audio about one frame ahead of the video written so far.
        let until = ((self.frames + 1) as f64 / self.spec.fps as f64 * AUDIO_RATE as f64) as usize;
        self.encode_audio_until(until.min(self.soundtrack.len()))
    }

    fn drain_video(&mut self) -> Result<()> {
        let mut pkt = Packet::empty();
        while self.video.receive_packet(&mut pkt).is_ok() {
            pkt.set_stream(self.vst);
            // FFmpeg 5.1 leaves packet durations unset: one frame each.
            pkt.set_duration(1);
            pkt.rescale_ts(Rational::new(1, self.spec.fps as i32), self.vtb);
            pkt.write_interleaved(&mut self.octx)
                .map_err(enc_err("writing video"))?;
        }
        Ok(())
    }

    fn encode_audio_until(&mut self, until: usize) -> Result<()> {
        while self.audio_pos < until {
            let n = self.audio_frame.min(self.soundtrack.len() - self.audio_pos);
            let mut f = frame::Audio::new(
                format::Sample::F32(format::sample::Type::Planar),
                n,
                ff::ChannelLayout::STEREO,
            );
            f.set_rate(AUDIO_RATE);
            let src = &self.soundtrack[self.audio_pos..self.audio_pos + n];
            for ch in 0..2 {
                f.plane_mut::<f32>(ch)[..n].copy_from_slice(src);
            }
            f.set_pts(Some(self.audio_pos as i64));
            self.audio
                .send_frame(&f)
                .map_err(enc_err("encoding audio"))?;
            self.audio_pos += n;
            self.drain_audio()?;
        }
        Ok(())
    }

    fn drain_audio(&mut self) -> Result<()> {
        let mut pkt = Packet::empty();
        while self.audio.receive_packet(&mut pkt).is_ok() {
            pkt.set_stream(self.ast);
            if pkt.duration() <= 0 {
                pkt.set_duration(self.audio_frame as i64);
            }
            pkt.rescale_ts(Rational::new(1, AUDIO_RATE as i32), self.atb);
            pkt.write_interleaved(&mut self.octx)
                .map_err(enc_err("writing audio"))?;
            self.audio_packets += 1;
        }
        Ok(())
    }

    /// Flushes both encoders, writes the trailer and closes the file.
    pub fn finish(mut self) -> Result<Mp4Stats> {
        let len = self.soundtrack.len();
        self.encode_audio_until(len)?;
        self.video.send_eof().map_err(enc_err("flushing video"))?;
        self.drain_video()?;
        self.audio.send_eof().map_err(enc_err("flushing audio"))?;
        self.drain_audio()?;
        self.octx
            .write_trailer()
            .map_err(enc_err("writing the MP4 index"))?;
        Ok(Mp4Stats {
            frames: self.frames,
            duration_s: self.frames as f64 / self.spec.fps as f64,
            audio_packets: self.audio_packets,
        })
    }
}

/// RGB24 → YUV 4:2:0, BT.709 limited range, chroma averaged over 2×2 blocks.
fn rgb_to_yuv420_bt709(rgb: &[u8], w: usize, h: usize, out: &mut frame::Video) {
    use rayon::prelude::*;
    // BT.709 in 8.8 fixed point, limited range (Y 16–235, C 16–240).
    const KR: f32 = 0.2126;
    const KB: f32 = 0.0722;
    const KG: f32 = 1.0 - KR - KB;
    let ys = out.stride(0);
    out.data_mut(0)
        .par_chunks_mut(ys)
        .take(h)
        .enumerate()
        .for_each(|(y, row)| {
            let src = &rgb[y * w * 3..(y + 1) * w * 3];
            for x in 0..w {
                let (r, g, b) = (
                    src[x * 3] as f32,
                    src[x * 3 + 1] as f32,
                    src[x * 3 + 2] as f32,
                );
                row[x] = (16.0 + 219.0 / 255.0 * (KR * r + KG * g + KB * b)).round() as u8;
            }
        });
    let (cw, ch) = (w / 2, h / 2);
    for plane in [1usize, 2] {
        let cs = out.stride(plane);
        out.data_mut(plane)
            .par_chunks_mut(cs)
            .take(ch)
            .enumerate()
            .for_each(|(cy, row)| {
                for cx in 0..cw {
                    let (mut r, mut g, mut b) = (0.0f32, 0.0f32, 0.0f32);
                    for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                        let i = ((cy * 2 + dy) * w + cx * 2 + dx) * 3;
                        r += rgb[i] as f32;
                        g += rgb[i + 1] as f32;
                        b += rgb[i + 2] as f32;
                    }
                    let (r, g, b) = (r / 4.0, g / 4.0, b / 4.0);
                    let yv = KR * r + KG * g + KB * b;
                    let c = if plane == 1 {
                        (b - yv) / (2.0 * (1.0 - KB))
                    } else {
                        (r - yv) / (2.0 * (1.0 - KR))
                    };
                    row[cx] = (128.0 + 224.0 / 255.0 * c).round().clamp(16.0, 240.0) as u8;
                }
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuv_of_primaries() {
        ff::init().unwrap();
        let mut f = frame::Video::new(format::Pixel::YUV420P, 2, 2);
        let white = [255u8; 12];
        rgb_to_yuv420_bt709(&white, 2, 2, &mut f);
        assert_eq!(f.data(0)[0], 235);
        assert_eq!(f.data(1)[0], 128);
        let black = [0u8; 12];
        rgb_to_yuv420_bt709(&black, 2, 2, &mut f);
        assert_eq!(f.data(0)[0], 16);
        let red: Vec<u8> = (0..4).flat_map(|_| [255u8, 0, 0]).collect();
        rgb_to_yuv420_bt709(&red, 2, 2, &mut f);
        assert_eq!(f.data(0)[0], 63); // BT.709 red: Y' = 16 + 219·0.2126
        assert_eq!(f.data(2)[0], 240);
    }
}
