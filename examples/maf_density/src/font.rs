//! A font for plot titles and axes, shared by the examples and the benchmark report (through
//! `#[path]`): plotters' bitmap backend draws text only with a registered font.

/// Registers a sans-serif font from the machine (DejaVu is common on Linux); `false` when there is
/// none, and plots are then drawn without text.
pub fn load_font() -> bool {
    const CANDIDATES: [&str; 3] = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf",
        "/Library/Fonts/Arial.ttf",
    ];
    for path in CANDIDATES {
        if let Ok(bytes) = std::fs::read(path) {
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font(
                "sans-serif",
                plotters::style::FontStyle::Normal,
                bytes,
            )
            .is_ok()
            {
                return true;
            }
        }
    }
    false
}
