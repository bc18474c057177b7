//! The font of every picture: DejaVu Sans cut down to ASCII and `× · … – —`
//! (35 KB; its licence is beside it), compiled in so that drawing text needs no
//! font installed on the machine (plotters' `ab_glyph` backend).

use std::sync::Once;

use plotters::style::FontStyle;

/// The family name pictures ask for.
pub const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");

/// Registers the font with plotters (once per process) before anything is drawn.
pub fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_err() {
            panic!("the compiled-in font is a valid TrueType file");
        }
    });
}
