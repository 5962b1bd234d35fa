//! The modalities known from the first start (`GET /modalities`), with the classification
//! values each allows on files.

use serde_json::{Value, json};

use crate::error::ApiError;

/// The modalities known from the first start, with the classification values they allow.
pub(crate) fn all() -> Vec<Value> {
    let modality = |id: &str, description: &str, classification: Value| json!({"_id": id, "classification": classification, "active": true, "description": description, "rts_managed": false});
    vec![
        modality(
            "MR",
            "Magnetic resonance",
            json!({
                "Intent": ["Localizer", "Shim", "Calibration", "Fieldmap", "Structural", "Functional", "Screenshot", "Non-Image", "Spectroscopy"],
                "Measurement": ["B0", "B1", "T1", "T2", "T2*", "PD", "MT", "Perfusion", "Diffusion", "Susceptibility", "Fingerprinting", "MRA", "Unknown"],
                "Features": ["Quantitative", "Multi-Shell", "Multi-Echo", "Multi-Flip", "Multi-Band", "Steady-State", "3D", "Compressed-Sensing", "Eigenvector", "FA", "ADC", "Magnitude", "Phase", "Real", "Imaginary", "In-Phase", "Out-of-Phase", "Water", "Fat", "Subtraction", "Derived"],
            }),
        ),
        modality(
            "CT",
            "Computed tomography",
            json!({
                "Contrast": ["No Contrast", "Contrast"],
                "Scan Type": ["Localizer", "Standard", "Perfusion", "Angiography"],
                "Scan Orientation": ["Axial", "Coronal", "Sagittal", "Oblique"],
            }),
        ),
        modality(
            "PET",
            "Positron emission tomography",
            json!({
                "Isotope": ["C", "F", "O", "Ga", "N", "Rb", "Cu", "Zr"],
                "Processing": ["Attenuation Corrected", "Non-Attenuation Corrected"],
                "Tracer": ["FDG", "PiB", "AV45", "AV1451", "FLT", "MK6240"],
            }),
        ),
    ]
}

/// `GET /modalities/{id}`.
///
/// # Errors
///
/// 404 for an unknown modality.
pub(crate) fn get(id: &str) -> Result<Value, ApiError> {
    all()
        .into_iter()
        .find(|m| m["_id"] == id)
        .ok_or_else(|| ApiError::not_found(format!("modality {id} not found")))
}
