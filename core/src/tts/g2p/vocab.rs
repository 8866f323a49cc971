//! Kokoro's phoneme vocabulary (`vocab.json`): phoneme symbol → token id.

use std::collections::HashMap;
use std::path::Path;

use crate::{Error, Result};

/// Phoneme symbols and their token ids.
#[derive(Debug, Clone)]
pub struct Vocab {
    ids: HashMap<char, i64>,
}

impl Vocab {
    /// Reads `vocab.json` (`{"vocab": {"a": 43, …}}`, or the bare map).
    pub fn load(path: &Path) -> Result<Vocab> {
        let text = super::read_asset(path)?;
        Vocab::from_json(&text).map_err(|reason| Error::InvalidModelFile {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// Parses the JSON text of `vocab.json`.
    pub fn from_json(text: &str) -> std::result::Result<Vocab, String> {
        let v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let map = v
            .get("vocab")
            .unwrap_or(&v)
            .as_object()
            .ok_or("expected an object of symbol → id")?;
        let mut ids = HashMap::with_capacity(map.len());
        for (k, id) in map {
            let mut cs = k.chars();
            let (Some(c), None) = (cs.next(), cs.next()) else {
                return Err(format!("symbol {k:?} is not one character"));
            };
            let id = id
                .as_i64()
                .ok_or_else(|| format!("id of {k:?} is not an integer"))?;
            if id <= 0 {
                return Err(format!("id of {k:?} is {id}; 0 is the padding token"));
            }
            ids.insert(c, id);
        }
        if ids.is_empty() {
            return Err("the vocabulary is empty".into());
        }
        Ok(Vocab { ids })
    }

    /// The token id of a phoneme symbol.
    pub fn id(&self, c: char) -> Option<i64> {
        self.ids.get(&c).copied()
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the vocabulary has no symbols (never true for a loaded one).
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Token ids of a phoneme string; symbols not in the vocabulary are
    /// skipped and returned in the second list (in order, repeats kept).
    pub fn encode(&self, phonemes: &str) -> (Vec<i64>, Vec<char>) {
        let mut ids = Vec::with_capacity(phonemes.len());
        let mut unknown = Vec::new();
        for c in phonemes.chars() {
            match self.id(c) {
                Some(i) => ids.push(i),
                None => unknown.push(c),
            }
        }
        (ids, unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_encode() {
        let v = Vocab::from_json(r#"{"vocab": {" ": 16, "a": 43, "ˈ": 156, ",": 3}}"#).unwrap();
        assert_eq!(v.len(), 4);
        let (ids, unk) = v.encode("ˈa, aX");
        assert_eq!(ids, vec![156, 43, 3, 16, 43]);
        assert_eq!(unk, vec!['X']);
        assert!(Vocab::from_json("[]").is_err());
        assert!(Vocab::from_json(r#"{"ab": 1}"#).is_err());
        assert!(Vocab::from_json(r#"{"a": 0}"#).is_err());
    }
}
