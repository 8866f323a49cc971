//! Unit tests of the front end with a small in-memory lexicon and vocabulary.

use super::*;

const GOLD: &str = r#"{
 "I":"ˈI","A":"ˈA","Z":"zˈi","B":"bˈi","C":"sˈi","D":"dˈi","F":"ˈɛf","S":"ˈɛs","T":"tˈi","U":"jˈu","M":"ˈɛm","P":"pˈi",
 "hello":"həlˈO","world":"wˈɜɹld","the":"ði","a":"ɐ","cat":"kˈæt","apple":"ˈæpᵊl","it":"ɪt",
 "costs":"kˈɔsts","four":"fˈɔɹ","dollars":"dˈɑləɹz","and":"ænd","fifty":"fˈɪfti","cents":"sˈɛnts",
 "read":{"DEFAULT":"ɹˈid","VBD":"ɹˈɛd","VBN":"ɹˈɛd","VBP":"ɹˈɛd"},"have":"hæv","book":"bˈʊk",
 "well":"wˈɛl","known":"nˈOn","water":"wˈɔɾəɹ","is":"ɪz","big":"bˈɪɡ","nineteen":"nˌIntˈin",
 "ninety":"nˈIndi","nine":"nˈIn","point":"pˈYnt","three":"θɹˈi","one":"wˈʌn","four":"fˈɔɹ",
 "to":"tu","go":"ɡˈO","percent":"pəɹsˈɛnt","fifteen":"fˌɪftˈin","minus":"mˈInəs","seven":"sˈɛvən"
}"#;
const SILVER: &str = r#"{"cats":"kˈæts"}"#;
const VOCAB: &str = r#"{"vocab": {";": 1, ":": 2, ",": 3, ".": 4, "!": 5, "?": 6, "—": 9, "…": 10, "\"": 11, "(": 12, ")": 13, "“": 14, "”": 15, " ": 16, "A": 24, "I": 25, "O": 31, "T": 36, "W": 39, "Y": 41, "ᵊ": 42, "a": 43, "b": 44, "d": 46, "e": 47, "f": 48, "h": 50, "i": 51, "j": 52, "k": 53, "l": 54, "m": 55, "n": 56, "o": 57, "p": 58, "s": 61, "t": 62, "u": 63, "v": 64, "w": 65, "z": 68, "ɑ": 69, "æ": 72, "ɔ": 76, "ð": 81, "ʤ": 82, "ə": 83, "ɛ": 86, "ɜ": 87, "ɡ": 92, "ɪ": 102, "ŋ": 112, "θ": 119, "ɹ": 123, "ʃ": 131, "ʊ": 135, "ʌ": 138, "ʒ": 147, "ˈ": 156, "ˌ": 157, "ᵻ": 177}}"#;

fn g2p() -> EnglishG2p {
    EnglishG2p {
        lexicon: Lexicon::from_json(GOLD, SILVER),
        vocab: Vocab::from_json(VOCAB).unwrap(),
        fallback: Fallback::Spell,
    }
}

#[test]
fn sentence_with_context_rules() {
    let g = g2p();
    assert_eq!(g.phonemes("Hello, world!").unwrap(), "həlˈO, wˈɜɹld!");
    assert_eq!(g.phonemes("the cat").unwrap(), "ðə kˈæt");
    assert_eq!(g.phonemes("the apple").unwrap(), "ði ˈæpᵊl");
    assert_eq!(g.phonemes("a cat").unwrap(), "ɐ kˈæt");
    assert_eq!(g.phonemes("I have read it").unwrap(), "ˌI hæv ɹˈɛd ɪt");
    assert_eq!(g.phonemes("to go").unwrap(), "tə ɡˈO");
    // Flap → T as in misaki for Kokoro v1.0.
    assert_eq!(g.phonemes("water").unwrap(), "wˈɔTəɹ");
}

#[test]
fn numbers_and_money_through_lexicon() {
    let g = g2p();
    assert_eq!(
        g.phonemes("It costs $4.50.").unwrap(),
        "ˌɪt kˈɔsts fˈɔɹ dˈɑləɹz ænd fˈɪfti sˈɛnts."
    );
    assert_eq!(g.phonemes("1999").unwrap(), "nˌIntˈin nˈIndi nˈIn");
    assert_eq!(g.phonemes("3.1").unwrap(), "θɹˈi pYnt wˈʌn");
    assert_eq!(g.phonemes("-7").unwrap(), "mˈInəs sˈɛvən");
    assert_eq!(g.phonemes("15%").unwrap(), "fˌɪftˈin pəɹsˈɛnt");
}

#[test]
fn compounds_acronyms_and_spelling() {
    let g = g2p();
    // Both parts stressed: the lighter one is demoted.
    assert_eq!(g.phonemes("well-known").unwrap(), "wˌɛlnˈOn");
    assert_eq!(g.phonemes("FBI").unwrap(), "ˌɛfbˌiˈI");
    assert_eq!(g.phonemes("U.S.").unwrap(), "jˌuˈɛs.");
    // Unknown word without espeak: spelled.
    let chunks = g.phonemize("the zfb").unwrap();
    let w = &chunks[0].words[1];
    assert_eq!(w.source, PhonemeSource::Spelled);
    assert_eq!(w.phonemes, "zˌiˌɛfbˈi");
    assert!(!w.phonemes.is_empty());
}

#[test]
fn words_map_to_original_text_and_tokens() {
    let g = g2p();
    let text = "Hello, world! It costs $4.50.";
    let chunks = g.phonemize(text).unwrap();
    assert_eq!(chunks.len(), 1);
    let c = &chunks[0];
    let chars: Vec<char> = text.chars().collect();
    let originals: Vec<String> = c
        .words
        .iter()
        .map(|w| chars[w.char_start..w.char_end].iter().collect())
        .collect();
    assert_eq!(originals, ["Hello", "world", "It", "costs", "$4.50"]);
    let (ids, unk) = g.vocab.encode(&c.phonemes);
    assert_eq!(ids, c.tokens);
    assert!(unk.is_empty());
    let ps: Vec<char> = c.phonemes.chars().collect();
    for w in &c.words {
        // Token ranges are increasing and each decodes to the word's phonemes.
        let sub: String = ps[w.token_start..w.token_end].iter().collect();
        assert_eq!(sub, w.phonemes);
    }
    assert_eq!(c.words[4].phonemes, "fˈɔɹ dˈɑləɹz ænd fˈɪfti sˈɛnts");
    assert!(c
        .words
        .windows(2)
        .all(|p| p[0].token_end <= p[1].token_start && p[0].char_end <= p[1].char_start));
}

#[test]
fn unknown_symbols_are_dropped_and_reported() {
    let g = g2p();
    // 'ɾ' became 'T', fine; 'ɐ' is not in the small test vocabulary.
    let c = &g.phonemize("a cat").unwrap()[0];
    assert_eq!(c.dropped, vec!['ɐ']);
    assert_eq!(c.phonemes, "kˈæt");
    assert_eq!(c.words[0].token_start, c.words[0].token_end);
}

#[test]
fn long_input_is_split_into_windows() {
    let g = g2p();
    let sentence = "Hello world, the cat read the book, the cat is big. ";
    let text = sentence.repeat(20);
    let chunks = g.phonemize_with_limit(&text, 100).unwrap();
    assert!(chunks.len() > 1);
    let mut last_char = 0;
    let mut nwords = 0;
    for c in &chunks {
        assert!(c.tokens.len() <= 100, "{}", c.tokens.len());
        assert!(!c.phonemes.starts_with(' ') && !c.phonemes.ends_with(' '));
        // Whole sentences when they fit: each chunk ends at a sentence end.
        assert!(c.phonemes.ends_with('.'), "{}", c.phonemes);
        for w in &c.words {
            assert!(w.char_start >= last_char);
            last_char = w.char_end;
        }
        nwords += c.words.len();
    }
    assert_eq!(nwords, 20 * 11);
    // A sentence longer than the window is cut at commas.
    let long = "the cat read the book, ".repeat(12) + "the end.";
    let chunks = g.phonemize_with_limit(&long, 40).unwrap();
    assert!(chunks.len() > 2);
    for c in &chunks[..chunks.len() - 1] {
        assert!(c.tokens.len() <= 40);
        assert!(c.phonemes.ends_with(','), "{}", c.phonemes);
    }
    // No punctuation at all: cut between words.
    let words = "cat ".repeat(50);
    let chunks = g.phonemize_with_limit(&words, 20).unwrap();
    assert!(chunks
        .iter()
        .all(|c| c.tokens.len() <= 20 && !c.words.is_empty()));
    assert_eq!(chunks.iter().map(|c| c.words.len()).sum::<usize>(), 50);
}

#[test]
fn bad_input_is_a_typed_error() {
    let g = g2p();
    for t in ["", "   ", "...", "?!", "🙂🙂", "— * —", "\n\t"] {
        match g.phonemize(t) {
            Err(Error::NothingToSpeak { .. }) => {}
            other => panic!("{t:?}: {other:?}"),
        }
    }
    assert!(matches!(
        g.phonemize_with_limit("hello", 3),
        Err(Error::InvalidArgument { .. })
    ));
    assert_eq!(
        Error::NothingToSpeak {
            text: String::new()
        }
        .kind(),
        crate::ErrorKind::BadInput
    );
}

#[test]
fn missing_assets_name_the_fetch_command() {
    let dir = std::env::temp_dir().join("voxreel-g2p-no-such-dir");
    match EnglishG2p::load(&dir) {
        Err(Error::MissingDependency { install, .. }) => assert!(install.contains(INSTALL_COMMAND)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn malformed_assets_are_reported() {
    let dir = std::env::temp_dir().join(format!("voxreel-g2p-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("us_gold.json"), "{\"a\": 3}").unwrap();
    std::fs::write(dir.join("us_silver.json"), "{}").unwrap();
    std::fs::write(dir.join("vocab.json"), VOCAB).unwrap();
    let r = EnglishG2p::load(&dir);
    std::fs::remove_dir_all(&dir).ok();
    match r {
        Err(Error::InvalidModelFile { path, .. }) => assert!(path.ends_with("us_gold.json")),
        other => panic!("{other:?}"),
    }
}
