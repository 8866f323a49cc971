//! TEMPORARY stand-in.
/// Gender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Gender {
    /// F
    Female,
    /// M
    Male,
}
/// Analysis.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ReferenceAnalysis {
    /// x
    pub f0_median_hz: f64,
    /// x
    pub f0_spread_semitones: f64,
    /// x
    pub speaking_rate_syllables_per_s: f64,
}
