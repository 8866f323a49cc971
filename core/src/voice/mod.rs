//! TEMPORARY stand-in until the analysis module lands.
pub mod analysis;
pub mod vad;
pub use analysis::{Gender, ReferenceAnalysis};
/// A voice profile.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct VoiceProfile {
    /// Format version.
    pub format_version: u32,
    /// Name.
    pub name: Option<String>,
    /// Analysis.
    pub analysis: ReferenceAnalysis,
    /// Gender.
    pub gender: Gender,
}
