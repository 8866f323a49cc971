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
    /// `soundtrack` must be mono at [`AUDIO_RATE`]; it is encoded as stereo AAC. The
    /// writer takes it over (no copy is kept elsewhere while frames stream in).
    /// `metadata` entries become container tags (`title`, `comment`, …).
    pub fn create(
        path: &Path,
        spec: &VideoSpec,
        soundtrack: Audio,
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
        // libavcodec encoders default to one thread; x264 scales with cores (as the ffmpeg CLI's "auto").
        opts.set("threads", "auto");
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
            soundtrack: soundtrack.samples,
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

/// File extensions taken as video clips (scene media) rather than still images.
pub const VIDEO_EXTENSIONS: [&str; 6] = ["mp4", "mov", "m4v", "webm", "mkv", "avi"];

/// Longest video clip accepted as scene media, in seconds.
pub const MAX_CLIP_S: f64 = 3600.0;

/// True if `path` names a video clip by its extension (`.mp4`, `.mov`, …).
///
/// ```
/// use voxreel::media::is_video_path;
/// assert!(is_video_path(std::path::Path::new("clips/Beach.MP4")));
/// assert!(!is_video_path(std::path::Path::new("beach.png")));
/// ```
pub fn is_video_path(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| VIDEO_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// A video clip decoded in order (ffmpeg-next) and scaled to cover a frame.
///
/// [`VideoClip::frame_at`] gives the picture shown at a time of the clip's own
/// clock; times past the end wrap around (the clip loops), and asking for an
/// earlier time than the last one reopens the clip. The clip's sound is not used.
/// Decoding state is not `Send`: use a clip on the thread that opened it.
pub struct VideoClip {
    path: std::path::PathBuf,
    ictx: format::context::Input,
    decoder: ff::decoder::Video,
    scaler: Option<ff::software::scaling::Context>,
    stream: usize,
    time_base: f64,
    width: u32,
    height: u32,
    duration_s: f64,
    /// The frame shown now: its time and picture (scaled lazily).
    current: Option<(f64, frame::Video, Option<std::sync::Arc<Vec<u8>>>)>,
    /// The next decoded frame, not yet due.
    pending: Option<(f64, frame::Video)>,
    eof: bool,
    /// Time of the last frame decoded, to learn the length of clips that do not state it.
    last_t: f64,
}

impl std::fmt::Debug for VideoClip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoClip")
            .field("path", &self.path)
            .field("duration_s", &self.duration_s)
            .finish()
    }
}

impl VideoClip {
    /// Opens `path` and prepares frames of `width`×`height` (scaled to cover, centre-cropped).
    pub fn open(path: &Path, width: u32, height: u32) -> Result<VideoClip> {
        let bad = |reason: String| Error::Video {
            path: path.to_path_buf(),
            reason,
        };
        if !path.is_file() {
            return Err(Error::FileNotFound {
                path: path.to_path_buf(),
            });
        }
        ff::init().map_err(|e| bad(e.to_string()))?;
        let ictx = format::input(path).map_err(|e| bad(format!("not a readable video: {e}")))?;
        let st = ictx
            .streams()
            .best(ff::media::Type::Video)
            .ok_or_else(|| bad("it has no video stream".into()))?;
        let stream = st.index();
        let tb = st.time_base();
        let time_base = tb.numerator() as f64 / tb.denominator().max(1) as f64;
        let mut duration_s = if st.duration() > 0 {
            st.duration() as f64 * time_base
        } else if ictx.duration() > 0 {
            ictx.duration() as f64 / ff::ffi::AV_TIME_BASE as f64
        } else {
            0.0
        };
        if !duration_s.is_finite() || duration_s < 0.0 {
            duration_s = 0.0;
        }
        if duration_s > MAX_CLIP_S {
            return Err(bad(format!(
                "{duration_s:.0} s long; clips up to {MAX_CLIP_S:.0} s are accepted"
            )));
        }
        let ctx = codec::context::Context::from_parameters(st.parameters())
            .map_err(|e| bad(e.to_string()))?;
        let decoder = ctx
            .decoder()
            .video()
            .map_err(|e| bad(format!("no decoder for its video: {e}")))?;
        let (sw, sh) = (decoder.width(), decoder.height());
        if sw == 0 || sh == 0 || sw as u64 * sh as u64 > crate::render::MAX_IMAGE_PIXELS {
            return Err(bad(format!("{sw}×{sh} pixels is not a usable size")));
        }
        if width == 0 || height == 0 {
            return Err(Error::InvalidArgument {
                name: "clip frame size".into(),
                reason: format!("{width}×{height}"),
            });
        }
        let mut clip = VideoClip {
            path: path.to_path_buf(),
            ictx,
            decoder,
            scaler: None,
            stream,
            time_base,
            width,
            height,
            duration_s,
            current: None,
            pending: None,
            eof: false,
            last_t: 0.0,
        };
        // Decode the first frame now, so a clip that cannot be decoded fails here.
        match clip.decode_next()? {
            Some(f) => clip.pending = Some(f),
            None => return Err(bad("it holds no decodable video frame".into())),
        }
        Ok(clip)
    }

    /// The clip's length in seconds (0 if neither the file nor decoding told it yet).
    pub fn duration_s(&self) -> f64 {
        self.duration_s
    }

    /// Decodes the next frame of the video stream, with its time in seconds.
    fn decode_next(&mut self) -> Result<Option<(f64, frame::Video)>> {
        let path = self.path.clone();
        let bad = move |e: ff::Error| Error::Video {
            path: path.clone(),
            reason: format!("decoding failed: {e}"),
        };
        let mut f = frame::Video::empty();
        loop {
            if self.decoder.receive_frame(&mut f).is_ok() {
                let pts = f.timestamp().or(f.pts()).unwrap_or(0);
                let t = pts as f64 * self.time_base;
                self.last_t = self.last_t.max(t);
                return Ok(Some((t, f)));
            }
            if self.eof {
                return Ok(None);
            }
            let mut got = false;
            while let Some((st, pkt)) = self.ictx.packets().next() {
                if st.index() == self.stream {
                    self.decoder.send_packet(&pkt).map_err(&bad)?;
                    got = true;
                    break;
                }
            }
            if !got {
                self.eof = true;
                self.decoder.send_eof().map_err(&bad)?;
            }
        }
    }

    /// Starts decoding again from the beginning.
    fn reopen(&mut self) -> Result<()> {
        let again = VideoClip::open(&self.path, self.width, self.height)?;
        let learned = self.duration_s;
        *self = again;
        if self.duration_s <= 0.0 {
            self.duration_s = learned;
        }
        Ok(())
    }

    /// The picture (RGB24, `width × height × 3`) shown at `t` seconds of the clip's
    /// clock: the last frame whose time is not after `t`. Past the end the clip loops.
    pub fn frame_at(&mut self, t: f64) -> Result<std::sync::Arc<Vec<u8>>> {
        let mut t = t.max(0.0);
        if self.duration_s > 0.0 {
            t = t.rem_euclid(self.duration_s);
        }
        if matches!(&self.current, Some((ct, _, _)) if t + 1e-6 < *ct) {
            self.reopen()?;
        }
        loop {
            match &self.pending {
                Some((pt, _)) if *pt <= t + 1e-6 || self.current.is_none() => {
                    let (pt, f) = self.pending.take().expect("checked above");
                    self.current = Some((pt, f, None));
                }
                Some(_) => break,
                None => {}
            }
            if self.pending.is_none() {
                match self.decode_next()? {
                    Some(f) => self.pending = Some(f),
                    None => {
                        // The end: learn the length if the file did not state it.
                        if self.duration_s <= 0.0 && self.last_t > 0.0 {
                            let fps_guess = 1.0 / 30.0;
                            self.duration_s = self.last_t + fps_guess;
                            if t >= self.duration_s {
                                return self.frame_at(t);
                            }
                        }
                        break;
                    }
                }
            }
        }
        let (w, h) = (self.width, self.height);
        let needs_scaler = self.scaler.is_none();
        let (_, f, rgb) = self
            .current
            .as_mut()
            .expect("a clip always has a first frame");
        if let Some(rgb) = rgb {
            return Ok(rgb.clone());
        }
        let (sw, sh) = (f.width(), f.height());
        let k = (w as f64 / sw as f64).max(h as f64 / sh as f64);
        let (dw, dh) = (
            ((sw as f64 * k).ceil() as u32).max(w),
            ((sh as f64 * k).ceil() as u32).max(h),
        );
        if needs_scaler {
            self.scaler = Some(
                ff::software::scaling::Context::get(
                    f.format(),
                    sw,
                    sh,
                    format::Pixel::RGB24,
                    dw,
                    dh,
                    ff::software::scaling::Flags::BICUBIC,
                )
                .map_err(|e| Error::Video {
                    path: self.path.clone(),
                    reason: format!("cannot convert its pictures: {e}"),
                })?,
            );
        }
        let mut scaled = frame::Video::empty();
        self.scaler
            .as_mut()
            .expect("made above")
            .run(f, &mut scaled)
            .map_err(|e| Error::Video {
                path: self.path.clone(),
                reason: format!("cannot convert a picture: {e}"),
            })?;
        let stride = scaled.stride(0);
        let (x0, y0) = (((dw - w) / 2) as usize, ((dh - h) / 2) as usize);
        let (w, h) = (w as usize, h as usize);
        let mut out = vec![0u8; w * h * 3];
        let data = scaled.data(0);
        for (y, row) in out.chunks_exact_mut(w * 3).enumerate() {
            let s = (y0 + y) * stride + x0 * 3;
            row.copy_from_slice(&data[s..s + w * 3]);
        }
        let out = std::sync::Arc::new(out);
        *rgb = Some(out.clone());
        Ok(out)
    }
}

/// Converts one RGB24 frame to planar YUV 4:2:0 (BT.709, limited range), the
/// bytes a raw `yuv420p` file holds: Y (`w × h`), then U and V (`w/2 × h/2` each).
/// The same conversion [`Mp4Writer::write_frame`] applies; `w` and `h` must be even.
pub fn rgb_to_yuv420p(rgb: &[u8], w: usize, h: usize) -> Result<Vec<u8>> {
    if w % 2 == 1 || h % 2 == 1 || rgb.len() != w * h * 3 {
        return Err(Error::InvalidArgument {
            name: "frame".into(),
            reason: format!("{} bytes for {w}×{h} (even sizes, RGB24)", rgb.len()),
        });
    }
    ff::init().map_err(enc_err("initialising FFmpeg"))?;
    let mut f = frame::Video::new(format::Pixel::YUV420P, w as u32, h as u32);
    rgb_to_yuv420_bt709(rgb, w, h, &mut f);
    let mut out = Vec::with_capacity(w * h * 3 / 2);
    for (plane, (pw, ph)) in [(w, h), (w / 2, h / 2), (w / 2, h / 2)]
        .into_iter()
        .enumerate()
    {
        let stride = f.stride(plane);
        for row in f.data(plane).chunks(stride).take(ph) {
            out.extend_from_slice(&row[..pw]);
        }
    }
    Ok(out)
}

/// RGB24 → YUV 4:2:0, BT.709 limited range, chroma averaged over 2×2 blocks.
/// Fixed point (luma with 8 fractional bits in 16-bit lanes, chroma with 16 bits:
/// BT.709's coefficients scaled to limited range), rows in parallel.
fn rgb_to_yuv420_bt709(rgb: &[u8], w: usize, h: usize, out: &mut frame::Video) {
    use rayon::prelude::*;
    // Y' = 16 + 219/255 · (0.2126 R + 0.7152 G + 0.0722 B), coefficients × 256
    const YR8: u16 = 47;
    const YG8: u16 = 157;
    const YB8: u16 = 16;
    // Cb = 128 + 224/255 · (B − Y') / 1.8556;  Cr = 128 + 224/255 · (R − Y') / 1.5748
    const UR: i32 = -6596;
    const UG: i32 = -22189;
    const UB: i32 = 28784;
    const VR: i32 = 28784;
    const VG: i32 = -26145;
    const VB: i32 = -2639;
    let ys = out.stride(0);
    out.data_mut(0)
        .par_chunks_mut(ys)
        .take(h)
        .enumerate()
        .for_each(|(y, row)| {
            let src = &rgb[y * w * 3..(y + 1) * w * 3];
            // 8-bit coefficients in u16 lanes (vectorises well; within one level of the
            // exact formula): 0.2126·219/255·256 ≈ 47, 0.7152·219/255·256 ≈ 157, 0.0722·… ≈ 16.
            for (o, p) in row[..w].iter_mut().zip(src.chunks_exact(3)) {
                let v = YR8 * p[0] as u16 + YG8 * p[1] as u16 + YB8 * p[2] as u16;
                *o = ((v + 128) >> 8) as u8 + 16;
            }
        });
    let (cw, ch) = (w / 2, h / 2);
    let (us, vs) = (out.stride(1), out.stride(2));
    // U and V rows are computed together from the same 2×2 sums: first the sums per
    // channel (contiguous u16 arrays), then the matrix on them (both passes vectorise).
    let mut uv = vec![0u8; cw * ch * 2];
    uv.par_chunks_mut(cw * 2).enumerate().for_each_init(
        || [vec![0u16; cw], vec![0u16; cw], vec![0u16; cw]],
        |sums, (cy, row)| {
            let r0 = &rgb[cy * 2 * w * 3..(cy * 2 + 1) * w * 3];
            let r1 = &rgb[(cy * 2 + 1) * w * 3..(cy * 2 + 2) * w * 3];
            let [sr, sg, sb] = sums;
            for ((((a, b), r), g), bl) in r0
                .chunks_exact(6)
                .zip(r1.chunks_exact(6))
                .zip(sr.iter_mut())
                .zip(sg.iter_mut())
                .zip(sb.iter_mut())
            {
                *r = a[0] as u16 + a[3] as u16 + b[0] as u16 + b[3] as u16;
                *g = a[1] as u16 + a[4] as u16 + b[1] as u16 + b[4] as u16;
                *bl = a[2] as u16 + a[5] as u16 + b[2] as u16 + b[5] as u16;
            }
            let (ur, vr) = row.split_at_mut(cw);
            for ((((u, v), &r), &g), &b) in ur
                .iter_mut()
                .zip(vr.iter_mut())
                .zip(sr.iter())
                .zip(sg.iter())
                .zip(sb.iter())
            {
                let (r, g, b) = (r as i32, g as i32, b as i32);
                let cu = (UR * r + UG * g + UB * b + (1 << 17)) >> 18;
                let cv = (VR * r + VG * g + VB * b + (1 << 17)) >> 18;
                *u = (128 + cu).clamp(16, 240) as u8;
                *v = (128 + cv).clamp(16, 240) as u8;
            }
        },
    );
    for (cy, row) in uv.chunks_exact(cw * 2).enumerate() {
        out.data_mut(1)[cy * us..cy * us + cw].copy_from_slice(&row[..cw]);
        out.data_mut(2)[cy * vs..cy * vs + cw].copy_from_slice(&row[cw..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a 2 s clip at 8 fps whose colour changes every 0.5 s: red, green, blue, white.
    fn colour_clip(path: &Path) {
        let spec = VideoSpec {
            width: 64,
            height: 48,
            fps: 8,
            crf: 10,
            preset: "ultrafast".into(),
            audio_bitrate: 64_000,
        };
        let silence = Audio::new(vec![0.0; 2 * AUDIO_RATE as usize], AUDIO_RATE);
        let mut w = Mp4Writer::create(path, &spec, silence, &[]).unwrap();
        for i in 0..16 {
            let c = COLOURS[i / 4];
            let rgb: Vec<u8> = (0..64 * 48).flat_map(|_| c).collect();
            w.write_frame(&rgb).unwrap();
        }
        w.finish().unwrap();
    }

    const COLOURS: [[u8; 3]; 4] = [[230, 20, 20], [20, 230, 20], [20, 20, 230], [240, 240, 240]];

    fn assert_colour(rgb: &[u8], want: [u8; 3], what: &str) {
        let n = rgb.len() / 3;
        for k in 0..3 {
            let mean = rgb
                .iter()
                .skip(k)
                .step_by(3)
                .map(|&v| v as f64)
                .sum::<f64>()
                / n as f64;
            assert!(
                (mean - want[k] as f64).abs() < 35.0,
                "{what}: channel {k} is {mean:.0}, want {}",
                want[k]
            );
        }
    }

    #[test]
    fn a_video_clip_plays_in_order_loops_and_rewinds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("clip.mp4");
        colour_clip(&path);
        // A square frame from a 4:3 clip: scaled to cover and centre-cropped.
        let mut clip = VideoClip::open(&path, 30, 30).unwrap();
        assert!(
            (clip.duration_s() - 2.0).abs() < 0.05,
            "{}",
            clip.duration_s()
        );
        let f = clip.frame_at(0.2).unwrap();
        assert_eq!(f.len(), 30 * 30 * 3);
        assert_colour(&f, COLOURS[0], "0.2 s");
        assert_colour(&clip.frame_at(0.7).unwrap(), COLOURS[1], "0.7 s");
        assert_colour(&clip.frame_at(1.8).unwrap(), COLOURS[3], "1.8 s");
        // Past the end it loops; an earlier time rewinds.
        assert_colour(&clip.frame_at(2.3).unwrap(), COLOURS[0], "2.3 s (looped)");
        assert_colour(&clip.frame_at(3.2).unwrap(), COLOURS[2], "3.2 s (looped)");
        assert_colour(&clip.frame_at(0.6).unwrap(), COLOURS[1], "0.6 s (rewound)");
        // The same time twice gives the same picture without decoding again.
        let a = clip.frame_at(0.65).unwrap();
        let b = clip.frame_at(0.66).unwrap();
        assert!(std::sync::Arc::ptr_eq(&a, &b));
    }

    #[test]
    fn a_file_that_is_not_video_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fake.mp4");
        std::fs::write(&path, b"this is a text file, not a video").unwrap();
        match VideoClip::open(&path, 30, 30) {
            Err(Error::Video { path: p, .. }) => assert_eq!(p, path),
            other => panic!("expected Error::Video, got {other:?}"),
        }
        assert!(matches!(
            VideoClip::open(&dir.path().join("missing.mp4"), 30, 30),
            Err(Error::FileNotFound { .. })
        ));
    }

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

    #[test]
    fn fixed_point_yuv_matches_the_bt709_formulas_within_one_level() {
        ff::init().unwrap();
        let (w, h) = (8usize, 6usize);
        let mut seed = 12345u32;
        let rgb: Vec<u8> = (0..w * h * 3)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 24) as u8
            })
            .collect();
        let mut f = frame::Video::new(format::Pixel::YUV420P, w as u32, h as u32);
        rgb_to_yuv420_bt709(&rgb, w, h, &mut f);
        let (kr, kb) = (0.2126f64, 0.0722f64);
        let kg = 1.0 - kr - kb;
        for y in 0..h {
            for x in 0..w {
                let p = &rgb[(y * w + x) * 3..];
                let want =
                    16.0 + 219.0 / 255.0 * (kr * p[0] as f64 + kg * p[1] as f64 + kb * p[2] as f64);
                let got = f.data(0)[y * f.stride(0) + x] as f64;
                assert!(
                    (got - want).abs() <= 1.0,
                    "Y at {x},{y}: {got} vs {want:.2}"
                );
            }
        }
        for cy in 0..h / 2 {
            for cx in 0..w / 2 {
                let mut m = [0f64; 3];
                for (dy, dx) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
                    for k in 0..3 {
                        m[k] += rgb[((cy * 2 + dy) * w + cx * 2 + dx) * 3 + k] as f64 / 4.0;
                    }
                }
                let yv = kr * m[0] + kg * m[1] + kb * m[2];
                let u = 128.0 + 224.0 / 255.0 * (m[2] - yv) / (2.0 * (1.0 - kb));
                let v = 128.0 + 224.0 / 255.0 * (m[0] - yv) / (2.0 * (1.0 - kr));
                let gu = f.data(1)[cy * f.stride(1) + cx] as f64;
                let gv = f.data(2)[cy * f.stride(2) + cx] as f64;
                assert!((gu - u.clamp(16.0, 240.0)).abs() <= 1.0, "U {gu} vs {u:.2}");
                assert!((gv - v.clamp(16.0, 240.0)).abs() <= 1.0, "V {gv} vs {v:.2}");
            }
        }
    }
}
