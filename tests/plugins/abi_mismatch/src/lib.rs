//! Test fixture: a library whose entry point reports plugin ABI 0.3, as a plugin built by an
//! older pagefold would. The runner must refuse it before calling anything else.

use pagefold_reducer::abi::PluginHeader;

static HEADER: PluginHeader = PluginHeader {
    abi_major: 0,
    abi_minor: 3,
    table_size: size_of::<PluginHeader>(),
};

/// The entry point, with only a header behind it.
#[unsafe(no_mangle)]
pub extern "C" fn pagefold_reducer_plugin() -> *const PluginHeader {
    &HEADER
}
