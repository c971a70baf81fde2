//! Test fixture: a perfectly good library that is not a pagefold plugin.

/// Some function, but not `pagefold_reducer_plugin`.
#[unsafe(no_mangle)]
pub extern "C" fn not_a_reducer() -> u32 {
    7
}
