//! The English front end with the real misaki lexicons and Kokoro vocabulary.
//!
//! Needs the assets installed by `voxreel models fetch kokoro` (or
//! `scripts/fetch-kokoro-lexicon.sh`) in `$VOXREEL_HOME/models/kokoro`; skips
//! with a message when they are absent. Reference phonemes in
//! `tests/data/g2p/misaki_en.jsonl` were made with misaki 0.9.4 itself (see
//! `tests/data/g2p/README.md`).

use voxreel::tts::g2p::{EnglishG2p, Fallback, PhonemeSource, MAX_TOKENS};
use voxreel::Error;

fn load() -> Option<EnglishG2p> {
    let dir = EnglishG2p::default_dir();
    match EnglishG2p::load(&dir) {
        Ok(g) => Some(g),
        Err(Error::MissingDependency { .. }) => {
            eprintln!(
                "SKIP: Kokoro English lexicon not installed in {} (run scripts/fetch-kokoro-lexicon.sh)",
                dir.display()
            );
            None
        }
        Err(e) => panic!("loading {}: {e}", dir.display()),
    }
}

fn reference() -> Vec<(String, String)> {
    let text = include_str!("data/g2p/misaki_en.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["text"].as_str().unwrap().to_string(),
                v["misaki"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Sentences where our rule-based part-of-speech guess cannot follow spaCy's
/// tagger; the reason is kept with each.
/// Sentences where we read differently from misaki on purpose; the reason is
/// kept with each (misaki's own output has `❓` where it has no reading).
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    (
        "Her résumé was impressive.",
        "misaki has no reading (❓); we fold diacritics and find 'resume'",
    ),
    (
        "The meeting is on March 5, 2024.",
        "a day next to a month is read as an ordinal (fifth)",
    ),
    (
        "Dr. Smith lives on Baker St. in London.",
        "misaki has no reading for 'St.' (❓); we read 'street'",
    ),
    (
        "The train leaves at 3:30 pm.",
        "misaki reads ':' as ❓; we read times (three thirty P M)",
    ),
];

#[test]
fn matches_misaki_on_reference_sentences() {
    let Some(g) = load() else { return };
    let g = g.with_fallback(Fallback::Spell);
    let mut failures = Vec::new();
    let mut matched = 0;
    for (text, want) in reference() {
        let got = g.phonemes(&text).unwrap();
        if got == want {
            matched += 1;
        } else if !KNOWN_DIFFERENCES.iter().any(|(t, _)| *t == text) {
            failures.push(format!("{text}\n   misaki: {want}\n   ours:   {got}"));
        }
    }
    eprintln!(
        "{matched} of {} sentences identical to misaki",
        reference().len()
    );
    assert!(failures.is_empty(), "differences:\n{}", failures.join("\n"));
}

#[test]
fn intentional_differences_read_well() {
    let Some(g) = load() else { return };
    let g = g.with_fallback(Fallback::Spell);
    let p = |t: &str| g.phonemes(t).unwrap();
    assert_eq!(
        p("The train leaves at 3:30 pm."),
        "ðə tɹˈAn lˈivz æt θɹˈi θˈɜɹTi pˌiˈɛm."
    );
    assert_eq!(p("March 5, 2024"), "mˈɑɹʧ fˈɪfθ, twˈɛnti twˈɛnti fˈɔɹ");
    assert!(p("Baker St. in London").contains("stɹˈit"));
    assert!(p("St. Louis").starts_with("sˈAnt"));
}

#[test]
fn expansions_with_the_real_lexicon() {
    let Some(g) = load() else { return };
    let g = g.with_fallback(Fallback::Spell);
    let p = |t: &str| g.phonemes(t).unwrap();
    // misaki's own readings of the number words.
    assert_eq!(p("$4.50"), "fˈɔɹ dˈɑləɹz ænd fˈɪfti sˈɛnts");
    assert_eq!(p("€20"), "twˈɛnti jˈʊɹOz");
    assert_eq!(p("£3"), "θɹˈi pˈWndz");
    assert_eq!(p("1999"), "nˌIntˈin nˈIndi nˈIn");
    assert_eq!(p("1,234"), "wˈʌn θˈWzᵊnd tˈu hˈʌndɹəd θˈɜɹTi fˈɔɹ");
    assert_eq!(p("21st"), "twˈɛnti fˈɜɹst");
    assert_eq!(p("-5"), "mˈInəs fˈIv");
    assert_eq!(p("3.14"), "θɹˈi pYnt wˈʌn fˈɔɹ");
    assert_eq!(p("50%"), "fˈɪfti pəɹsˈɛnt");
    assert_eq!(p("7 o'clock"), "sˈɛvən əklˈɑk");
    assert_eq!(p("7:00"), "sˈɛvən əklˈɑk");
    assert_eq!(p("9:05 am"), "nˈIn ˈO fˈIv ˌAˈɛm");
    assert_eq!(p("Dr. Smith"), "dˈɑktəɹ smˈɪθ");
    assert_eq!(p("e.g. cats"), "fɔɹ ɪɡzˈæmpəl kˈæts");
    assert_eq!(p("2024-03-15"), "mˈɑɹʧ fˌɪftˈinθ twˈɛnti twˈɛnti fˈɔɹ");
    // Acronyms: in the lexicon as a word, else spelled.
    assert_eq!(p("NASA"), "nˈæsə");
    assert_eq!(p("FBI"), "ˌɛfbˌiˈI");
    assert_eq!(p("XJQ"), "ˌɛksʤˌAkjˈu");
}

#[test]
fn words_cover_the_original_text_in_order() {
    let Some(g) = load() else { return };
    let text = "On 3/15/2024, Dr. Lee paid $4.50 (50%) for the well-known “U.S.” map—really!";
    let chunks = g.phonemize(text).unwrap();
    assert_eq!(chunks.len(), 1);
    let c = &chunks[0];
    let chars: Vec<char> = text.chars().collect();
    let shown: Vec<String> = c
        .words
        .iter()
        .map(|w| chars[w.char_start..w.char_end].iter().collect())
        .collect();
    assert_eq!(
        shown,
        [
            "On",
            "3/15/2024",
            "Dr.",
            "Lee",
            "paid",
            "$4.50",
            "50%",
            "for",
            "the",
            "well-known",
            "U.S.",
            "map",
            "really"
        ]
    );
    let ps: Vec<char> = c.phonemes.chars().collect();
    assert_eq!(
        ps.len(),
        c.tokens.len(),
        "every symbol is in the vocabulary"
    );
    assert!(c.dropped.is_empty());
    let mut last = 0;
    for w in &c.words {
        assert!(w.token_start >= last && w.token_end > w.token_start);
        last = w.token_end;
        let sub: String = ps[w.token_start..w.token_end].iter().collect();
        assert_eq!(sub, w.phonemes);
        assert_ne!(w.source, PhonemeSource::Unpronounced);
    }
    assert!(c.phonemes.contains('(') && c.phonemes.contains('“') && c.phonemes.contains('—'));
    assert!(c.phonemes.ends_with('!'));
}

#[test]
fn every_reference_sentence_tokenises_without_loss() {
    let Some(g) = load() else { return };
    for (text, _) in reference() {
        for c in g.phonemize(&text).unwrap() {
            assert!(c.dropped.is_empty(), "{text}: dropped {:?}", c.dropped);
            assert_eq!(c.phonemes.chars().count(), c.tokens.len());
            assert!(c.tokens.iter().all(|&t| t > 0 && t < 178));
        }
    }
    // Known ids of vocab.json.
    let c = &g.phonemize("Hello, world!").unwrap()[0];
    assert_eq!(c.tokens[..2], [50, 83]); // h ə
    assert_eq!(c.tokens[c.tokens.len() - 1], 5); // !
    assert_eq!(c.tokens[5], 3); // ,
    assert_eq!(c.tokens[6], 16); // space
}

#[test]
fn long_text_is_windowed() {
    let Some(g) = load() else { return };
    let text = reference()
        .into_iter()
        .map(|(t, _)| t)
        .collect::<Vec<_>>()
        .join(" ")
        .repeat(3);
    let chunks = g.phonemize(&text).unwrap();
    assert!(chunks.len() >= 3, "{} chunks", chunks.len());
    let mut last = 0;
    for c in &chunks {
        assert!(c.tokens.len() <= MAX_TOKENS);
        assert!(c.words.first().unwrap().char_start >= last);
        last = c.words.last().unwrap().char_end;
        // Windows end at sentence ends here (every sentence is short).
        assert!(c.phonemes.ends_with(['.', '!', '?']), "{}", c.phonemes);
    }
    // One very long sentence: cut at commas.
    let long = "We walked along the river, ".repeat(60) + "and then we went home.";
    let chunks = g.phonemize(&long).unwrap();
    assert!(chunks.len() >= 2);
    for c in &chunks[..chunks.len() - 1] {
        assert!(c.tokens.len() <= MAX_TOKENS);
        assert!(c.phonemes.ends_with(','));
    }
}

#[test]
fn nothing_to_speak() {
    let Some(g) = load() else { return };
    for t in ["", "  \n ", "!!!", "... — ...", "🙂🎉", "(“”)"] {
        match g.phonemize(t) {
            Err(Error::NothingToSpeak { .. }) => {}
            other => panic!("{t:?}: {other:?}"),
        }
    }
}

#[test]
fn unknown_words_without_espeak_are_spelled() {
    let Some(g) = load() else { return };
    let g = g.with_fallback(Fallback::Spell);
    let c = &g.phonemize("the zxqv").unwrap()[0];
    assert_eq!(c.words[1].source, PhonemeSource::Spelled);
    assert_eq!(c.words[1].phonemes, "zˌiˌɛkskjˌuvˈi");
    // A word in another script cannot be spelled: no tokens, but the word is kept.
    let c = &g.phonemize("hello привет").unwrap()[0];
    assert_eq!(c.words.len(), 2);
    assert_eq!(c.words[1].source, PhonemeSource::Unpronounced);
    assert_eq!(c.words[1].token_start, c.words[1].token_end);
}

#[cfg(feature = "espeak")]
#[test]
fn unknown_words_go_to_espeak() {
    let Some(g) = load() else { return };
    assert_eq!(g.fallback(), Fallback::Espeak);
    let c = &g.phonemize("The voxreel narrates.").unwrap()[0];
    assert_eq!(c.words[1].source, PhonemeSource::Espeak);
    assert_eq!(c.words[1].phonemes, "vˈɑksɹil");
    assert!(c.dropped.is_empty());
    // Known words still come from the lexicon.
    assert_eq!(c.words[0].source, PhonemeSource::Gold);
}
