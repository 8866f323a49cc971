//! espeak-ng engine checks (run with `--features espeak`).
#![cfg(feature = "espeak")]

use voxreel::tts::espeak::{EspeakSynthesizer, EspeakVoice};

fn voice(name: &str) -> EspeakVoice {
    EspeakVoice {
        name: name.into(),
        rate_wpm: 175,
        pitch: 50,
        range: 50,
    }
}

#[test]
fn english_word_events_point_at_words() {
    let e = EspeakSynthesizer::new().expect("espeak-ng installed");
    let text = "Hello there, brave new world of 1,234 voices.";
    let s = e.synthesize_with(text, &voice("en-us")).unwrap();
    assert_eq!(s.audio.sample_rate, 22050);
    assert!(s.audio.duration_s() > 1.5, "{}", s.audio.duration_s());
    let chars: Vec<char> = text.chars().collect();
    let words: Vec<String> = s
        .words
        .iter()
        .map(|w| chars[w.char_start..w.char_end].iter().collect())
        .collect();
    eprintln!("{words:?} {:?}", s.words);
    assert!(words.iter().any(|w| w == "brave"));
    assert!(s.words.windows(2).all(|w| w[0].start_s <= w[1].start_s));
}

#[test]
fn chinese_word_events() {
    let e = EspeakSynthesizer::new().unwrap();
    let text = "我們今天去台北，看了3場電影。";
    let s = e.synthesize_with(text, &voice("cmn-latn-pinyin")).unwrap();
    let chars: Vec<char> = text.chars().collect();
    let words: Vec<(String, f64)> = s
        .words
        .iter()
        .map(|w| (chars[w.char_start..w.char_end].iter().collect(), w.start_s))
        .collect();
    eprintln!("{words:?} dur {}", s.audio.duration_s());
    assert!(s.words.len() >= 3);
}

#[test]
fn mandarin_voice_has_no_english_switches() {
    let e = EspeakSynthesizer::new().unwrap();
    let text = "今天是2024年12月3日，我有3個蘋果，價格是45.5元。";
    let plain = e.phonemes(text, "cmn").unwrap();
    let pinyin = e.phonemes(text, "cmn-latn-pinyin").unwrap();
    eprintln!("cmn: {plain}\npinyin: {pinyin}");
    // The check can fail: Debian's plain `cmn` voice switches to English for digits.
    assert!(
        plain.contains("(en)"),
        "expected English switches from plain cmn: {plain}"
    );
    assert!(
        !pinyin.contains("(en)"),
        "English switch in Mandarin phonemes: {pinyin}"
    );
}
