//! The F0 tracker on real speech in `../shared/data/speech` (skips when absent): the share
//! of frames far (over 9 semitones) from their clip's median — octave errors — stays small
//! and smaller than plain YIN's; a speaker's clip medians agree with each other; the median
//! F0 puts at least as many clips on the right side of the 160 Hz gender split as plain YIN.
//! (Speaker 1688, labelled male, reads at 160–250 Hz with both trackers, so the split
//! itself cannot be required for every clip.)

use std::path::PathBuf;

use voxreel::audio::{decode_file, resample};
use voxreel::voice::analysis::{track_f0, track_f0_plain_yin, GENDER_SPLIT_HZ};
use voxreel::voice::vad;

fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/speech");
    if p.join("index.tsv").is_file() {
        Some(p)
    } else {
        eprintln!("skipping: ../shared/data/speech is absent");
        None
    }
}

/// (median Hz, share of voiced frames more than 9 semitones from the median).
fn stats(f0: &[Option<f64>]) -> (f64, f64, usize) {
    let mut v: Vec<f64> = f0.iter().flatten().copied().collect();
    if v.is_empty() {
        return (0.0, 0.0, 0);
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let med = v[v.len() / 2];
    let far = v
        .iter()
        .filter(|f| (12.0 * (*f / med).log2()).abs() > 9.0)
        .count();
    (med, far as f64 / v.len() as f64, v.len())
}

#[test]
fn f0_medians_follow_gender_and_octave_errors_are_rare() {
    let Some(dir) = shared() else { return };
    let index = std::fs::read_to_string(dir.join("index.tsv")).unwrap();
    let (mut n, mut wrong_new, mut wrong_old) = (0, 0, 0);
    let (mut far_new, mut far_old, mut frames) = (0.0, 0.0, 0usize);
    let mut medians: std::collections::BTreeMap<String, Vec<f64>> = Default::default();
    for line in index.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (file, gender) = (cols[0], cols[2]);
        if gender == "?" {
            continue;
        }
        let a = resample(&decode_file(&dir.join(file)).unwrap(), 16_000).unwrap();
        let mask = vad::detect(&a);
        let (m_new, o_new, k) = stats(&track_f0(&a, &mask));
        let (m_old, o_old, _) = stats(&track_f0_plain_yin(&a, &mask));
        let male = gender == "M";
        let bad = |m: f64| (m < GENDER_SPLIT_HZ) != male;
        if bad(m_new) || o_new > 0.05 || bad(m_old) || o_old > 0.05 {
            eprintln!(
                "{file} {gender}: new median {m_new:.0} Hz, {:.1}% octave-off; plain YIN {m_old:.0} Hz, {:.1}%",
                o_new * 100.0,
                o_old * 100.0
            );
        }
        medians.entry(cols[1].to_string()).or_default().push(m_new);
        n += 1;
        wrong_new += bad(m_new) as usize;
        wrong_old += bad(m_old) as usize;
        far_new += o_new * k as f64;
        far_old += o_old * k as f64;
        frames += k;
    }
    eprintln!(
        "{n} clips: gender by median F0 wrong new {wrong_new} / plain YIN {wrong_old}; octave-off frames new {:.2}% / plain YIN {:.2}%",
        100.0 * far_new / frames as f64,
        100.0 * far_old / frames as f64
    );
    assert!(n >= 100);
    assert!(wrong_new <= wrong_old, "{wrong_new} vs {wrong_old}");
    assert!(far_new / frames as f64 <= 0.03);
    assert!(far_new < 0.9 * far_old);
    for (spk, m) in medians.iter().filter(|(_, m)| m.len() >= 5) {
        let (lo, hi) = m
            .iter()
            .fold((f64::MAX, 0.0f64), |a, &v| (a.0.min(v), a.1.max(v)));
        eprintln!("speaker {spk}: clip medians {lo:.0}–{hi:.0} Hz");
        assert!(lo > 50.0 && hi / lo < 1.7, "speaker {spk}: {m:?}");
    }
}
