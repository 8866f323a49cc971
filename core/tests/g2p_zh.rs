//! The Mandarin front end against the expected values derived from misaki 0.9.4's Mandarin
//! front end (`scripts/misaki-zh-expected.py` → `core/tests/data/g2p_zh/`; see the README
//! there for what is misaki's and where we differ on purpose).
//!
//! Needs the run-time assets (`vocab.json`, `zh_pinyin_*.tsv`, the English lexicons for Latin
//! words) in `$VOXREEL_HOME/models/kokoro` (`voxreel models fetch kokoro`); skips with a
//! message when they are absent.

use std::path::PathBuf;
use std::sync::Arc;

use voxreel::tts::g2p::zh::pinyin::Syllable;
use voxreel::tts::g2p::{EnglishG2p, Fallback, MandarinG2p};

fn data(name: &str) -> serde_json::Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/g2p_zh")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).expect("test data")).expect("json")
}

fn front_end() -> Option<MandarinG2p> {
    let dir = MandarinG2p::default_dir();
    let zh_ok = voxreel::tts::g2p::zh::is_installed(&dir);
    let en_ok = voxreel::tts::g2p::ASSET_FILES
        .iter()
        .all(|f| dir.join(f).is_file());
    if !zh_ok || !en_ok {
        eprintln!(
            "SKIP: Kokoro Mandarin/English front-end assets not installed in {} \
             (run `voxreel models fetch kokoro`, or scripts/fetch-kokoro-lexicon.sh and \
             scripts/fetch-zh-frontend.sh)",
            dir.display()
        );
        return None;
    }
    let en = EnglishG2p::load(&dir)
        .expect("English front end")
        .with_fallback(Fallback::Spell);
    Some(
        MandarinG2p::load(&dir)
            .expect("Mandarin front end")
            .with_english(Arc::new(en)),
    )
}

/// Sentences where we knowingly differ from the expected values, with the reason. The test
/// checks that they still differ, so the list cannot go stale.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[(
    "我很喜欢用iPhone拍照。",
    "misaki's English G2P splits camel-case words into subtokens (i + Phone → ˈIfˌOn); \
     voxreel's English front end does not and spells the unknown word",
)];

#[test]
fn sentences_match_misaki_derived_tokens() {
    let Some(g2p) = front_end() else { return };
    let exp = data("expected.json");
    let cases = exp["cases"].as_array().expect("cases");
    assert!(cases.len() >= 20, "at least 20 sentences");
    let mut failures = Vec::new();
    let mut matched = 0;
    for c in cases {
        let text = c["text"].as_str().unwrap();
        let a = g2p.analyze(text).expect("analyze");
        let mut why = Vec::new();
        if a.normalized != c["normalized"].as_str().unwrap() {
            why.push(format!(
                "normalized {:?} ≠ {:?}",
                a.normalized, c["normalized"]
            ));
        }
        if a.simplified != c["simplified"].as_str().unwrap() {
            why.push(format!(
                "simplified {:?} ≠ {:?}",
                a.simplified, c["simplified"]
            ));
        }
        if a.phonemes != c["phonemes"].as_str().unwrap() {
            let ours: Vec<String> = a
                .words
                .iter()
                .map(|w| format!("{}/{}/{}", w.word, w.pos, w.pinyin.join(" ")))
                .collect();
            why.push(format!(
                "phonemes\n    ours   {}\n    misaki {}\n    our words {}",
                a.phonemes,
                c["phonemes"].as_str().unwrap(),
                ours.join(" | ")
            ));
        }
        let chunks = g2p.phonemize(text).expect("phonemize");
        assert_eq!(chunks.len(), 1, "{text}: one window");
        let want: Vec<i64> = c["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_i64().unwrap())
            .collect();
        if chunks[0].tokens != want {
            why.push(format!("tokens {:?}\n    ≠ {:?}", chunks[0].tokens, want));
        }
        let known = KNOWN_DIFFERENCES.iter().any(|(t, _)| *t == text);
        if known {
            assert!(
                !why.is_empty(),
                "{text} is listed as a known difference but now matches"
            );
            eprintln!("known difference: {text}\n  {}", why.join("\n  "));
        } else if !why.is_empty() {
            failures.push(format!("{text}:\n  {}", why.join("\n  ")));
        } else {
            matched += 1;
        }
    }
    eprintln!(
        "{matched} of {} sentences equal the misaki-derived tokens",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(matched >= 20, "at least 20 sentences must match");
}

#[test]
fn every_pypinyin_reading_maps_as_misaki() {
    let table = data("syllables.json");
    let table = table.as_object().expect("object");
    assert!(table.len() > 1500);
    let mut bad = Vec::new();
    for (reading, v) in table {
        let tone3 = v[0].as_str().unwrap();
        let ipa = v[1].as_str();
        let s = Syllable::parse(reading);
        let ours = s.as_ref().and_then(Syllable::ipa);
        if ours.as_deref() != ipa || s.as_ref().map(Syllable::tone3).as_deref() != Some(tone3) {
            bad.push(format!(
                "{reading} ({tone3}): ours {ours:?}, misaki {ipa:?}"
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} readings differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn words_point_back_at_the_original_characters() {
    let Some(g2p) = front_end() else { return };
    let text = "我們在2024年用iPhone拍照，花了¥1,280。";
    let chars: Vec<char> = text.chars().collect();
    let chunks = g2p.phonemize(text).expect("phonemize");
    assert_eq!(chunks.len(), 1);
    let c = &chunks[0];
    let shown: Vec<String> = c
        .words
        .iter()
        .map(|w| chars[w.char_start..w.char_end].iter().collect())
        .collect();
    // jieba's words, in the original (Traditional) characters; a number is one word.
    assert_eq!(shown.first().map(String::as_str), Some("我們"));
    assert!(shown.iter().any(|w| w == "iPhone"), "{shown:?}");
    assert!(shown.iter().any(|w| w.contains("2024")), "{shown:?}");
    assert!(shown.iter().any(|w| w.contains("1,280")), "{shown:?}");
    // Token ranges increase and stay inside the window.
    for p in c.words.windows(2) {
        assert!(p[0].token_end <= p[1].token_start, "{:?}", c.words);
        assert!(p[0].char_end <= p[1].char_start, "{:?}", c.words);
    }
    assert!(c.words.iter().all(|w| w.token_end <= c.tokens.len()));
}

#[test]
fn long_text_is_split_into_windows() {
    let Some(g2p) = front_end() else { return };
    let text = "我們今天來說說這個問題，大家一起想一想。".repeat(40);
    let chunks = g2p.phonemize_with_limit(&text, 120).expect("phonemize");
    assert!(chunks.len() > 5);
    for c in &chunks {
        assert!(c.tokens.len() <= 120 && !c.tokens.is_empty());
        // Windows end at punctuation when they can.
        assert!(
            c.phonemes.ends_with('.') || c.phonemes.ends_with(','),
            "{}",
            c.phonemes
        );
    }
    let whole: usize = g2p
        .phonemize(&text[..60])
        .unwrap()
        .iter()
        .map(|c| c.tokens.len())
        .sum();
    assert!(whole > 0);
}

#[test]
fn nothing_to_read_is_a_typed_error() {
    let Some(g2p) = front_end() else { return };
    for t in ["", "，。！", "🙂🙂"] {
        match g2p.phonemize(t) {
            Err(voxreel::Error::NothingToSpeak { .. }) => {}
            other => panic!("{t:?}: {other:?}"),
        }
    }
}
