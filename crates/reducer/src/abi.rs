//! The C ABI between the runner and a plugin library, version 1.1.
//!
//! A plugin exports one symbol, [`ENTRY_SYMBOL`], an `extern "C" fn() -> *const PluginHeader`.
//! The header is the first field of the table for its major version, and its three fields stay
//! where they are in every version, so a runner can always read them: it refuses a library
//! whose major version differs from [`ABI_MAJOR`] before it calls anything else, and it never
//! reads past `table_size` bytes, so a table from a newer minor version (with more entry points
//! at the end) still works.
//!
//! Only plain data crosses: [`ByteSlice`]s the caller owns for the duration of a call,
//! [`OwnedBytes`] the plugin allocated (and frees through [`PluginTableV1::free_bytes`]), and
//! opaque pointers to a plugin's reducer and states. Every entry point that can fail returns a
//! [`Status`] and, on failure, writes a message into its `error` out-parameter.
//!
//! Plugin authors never use this module directly: [`crate::export_reducer!`] writes the table.
//!
//! # Versions
//!
//! | ABI | what it added | written by pagefold-reducer | loaded by pagefold |
//! | --- | --- | --- | --- |
//! | 1.0 | [`PluginTableV1`]: the entry points, the plugin's name and version, the SDK's version | 0.1.0 before ABI 1.1 | every 0.1 release |
//! | 1.1 | [`PluginTableV1_1`]: the build (optimisation level, debug assertions) and [`crate::Reducer::STATE_FORMAT`] | 0.1.0 and later | 0.1.0 with ABI 1.1 and later |
//!
//! A runner speaking ABI 1.1 loads plugins built for 1.0: it reads their build as unknown and
//! their state format as 1. A plugin built for 1.1 loads in a runner speaking 1.0, which reads
//! the 1.0 part of its table only. A new major version is a new table that no older runner
//! loads (and that this runner refuses with the SDK version to rebuild against).

use std::ffi::c_void;

use crate::Position;

/// The major version: a runner loads only plugins with the same major version.
pub const ABI_MAJOR: u32 = 1;
/// The minor version: grows when entry points are added at the end of the table.
pub const ABI_MINOR: u32 = 1;
/// The name of the one symbol a plugin library exports, NUL-terminated for `dlsym`.
pub const ENTRY_SYMBOL: &[u8] = b"pagefold_reducer_plugin\0";

/// The type of [`ENTRY_SYMBOL`].
pub type EntryFn = unsafe extern "C" fn() -> *const PluginHeader;

/// What an entry point answers. A `u32` rather than an enum, because a value the runner does
/// not know (from a newer plugin) must not be undefined behaviour.
pub type Status = u32;
/// The call succeeded.
pub const STATUS_OK: Status = 0;
/// The call failed; `error` holds the message.
pub const STATUS_ERROR: Status = 1;
/// The plugin panicked; `error` holds the panic message. A state the panic happened in is
/// poisoned: any later call with it fails.
pub const STATUS_PANICKED: Status = 2;

/// The fixed start of every plugin table.
#[repr(C)]
#[derive(Debug)]
pub struct PluginHeader {
    /// [`ABI_MAJOR`] of the SDK the plugin was built with.
    pub abi_major: u32,
    /// [`ABI_MINOR`] of the SDK the plugin was built with.
    pub abi_minor: u32,
    /// `size_of` the whole table, header included.
    pub table_size: usize,
}

/// Bytes lent for the duration of one call. `ptr` may dangle when `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct ByteSlice {
    /// The first byte.
    pub ptr: *const u8,
    /// How many bytes.
    pub len: usize,
}

impl ByteSlice {
    /// Lends `bytes`; the caller keeps them alive for the call.
    pub const fn new(bytes: &[u8]) -> Self {
        Self {
            ptr: bytes.as_ptr(),
            len: bytes.len(),
        }
    }

    /// Reads the lent bytes back.
    ///
    /// # Safety
    ///
    /// `ptr` must point to `len` initialised bytes that stay alive and unmodified for `'a`
    /// (true of every `ByteSlice` passed to or returned by an entry point, for that call).
    pub unsafe fn as_slice<'a>(self) -> &'a [u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the caller guarantees `ptr` points to `len` live bytes for `'a`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Where one record is in a page's records array: byte offsets `[start, end)` into the
/// array's text.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordBounds {
    /// The record's first byte.
    pub start: u32,
    /// One past its last byte.
    pub end: u32,
}

/// Record bounds lent for the duration of one call. `ptr` may dangle when `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct BoundsSlice {
    /// The first bounds.
    pub ptr: *const RecordBounds,
    /// How many.
    pub len: usize,
}

impl BoundsSlice {
    /// Lends `bounds`; the caller keeps them alive for the call.
    pub const fn new(bounds: &[RecordBounds]) -> Self {
        Self {
            ptr: bounds.as_ptr(),
            len: bounds.len(),
        }
    }

    /// Reads the lent bounds back.
    ///
    /// # Safety
    ///
    /// `ptr` must point to `len` initialised, aligned `RecordBounds` that stay alive and
    /// unmodified for `'a` (true of every `BoundsSlice` passed to an entry point, for that call).
    pub unsafe fn as_slice<'a>(self) -> &'a [RecordBounds] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the caller guarantees `ptr` points to `len` live, aligned values for `'a`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// Bytes the plugin allocated and handed to the runner, which gives them back to
/// [`PluginTableV1::free_bytes`] when it is done. `ptr` is null when there are none.
#[repr(C)]
#[derive(Debug)]
pub struct OwnedBytes {
    /// The first byte, or null.
    pub ptr: *mut u8,
    /// How many bytes are initialised.
    pub len: usize,
    /// The allocation's capacity, needed to free it.
    pub capacity: usize,
}

impl OwnedBytes {
    /// No bytes: what an out-parameter starts as.
    pub const fn empty() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            len: 0,
            capacity: 0,
        }
    }
}

/// The entry points of ABI version 1.0. Every function is called with the reducer pointer that
/// `new_reducer` returned and states that `new_state`/`load_state` returned, never with
/// anything else, and never with the same state from two threads at once.
#[repr(C)]
pub struct PluginTableV1 {
    /// Always first.
    pub header: PluginHeader,
    /// The plugin crate's name (UTF-8).
    pub plugin_name: ByteSlice,
    /// The plugin crate's version (UTF-8).
    pub plugin_version: ByteSlice,
    /// The version of `pagefold-reducer` the plugin was built with (UTF-8).
    pub sdk_version: ByteSlice,
    /// Builds a reducer from its config (JSON) into `*reducer`.
    pub new_reducer: unsafe extern "C" fn(
        config: ByteSlice,
        reducer: *mut *mut c_void,
        error: *mut OwnedBytes,
    ) -> Status,
    /// Drops a reducer; no state of it is used afterwards.
    pub drop_reducer: unsafe extern "C" fn(reducer: *mut c_void),
    /// Writes a fresh state into `*state`.
    pub new_state: unsafe extern "C" fn(
        reducer: *const c_void,
        state: *mut *mut c_void,
        error: *mut OwnedBytes,
    ) -> Status,
    /// Folds the records of a page into `state`: `records` is the page's records array (UTF-8,
    /// well-formed JSON, checked by the runner) and `bounds` where each record is in it; the
    /// first record is at `first`.
    pub fold_records: unsafe extern "C" fn(
        reducer: *const c_void,
        state: *mut c_void,
        records: ByteSlice,
        bounds: BoundsSlice,
        first: Position,
        error: *mut OwnedBytes,
    ) -> Status,
    /// Merges `other` into `into`; `other` is consumed whatever the outcome.
    pub merge_states: unsafe extern "C" fn(
        reducer: *const c_void,
        into: *mut c_void,
        other: *mut c_void,
        error: *mut OwnedBytes,
    ) -> Status,
    /// Serializes `state` into `*bytes`.
    pub save_state: unsafe extern "C" fn(
        reducer: *const c_void,
        state: *const c_void,
        bytes: *mut OwnedBytes,
        error: *mut OwnedBytes,
    ) -> Status,
    /// Reads a state that `save_state` wrote into `*state`.
    pub load_state: unsafe extern "C" fn(
        reducer: *const c_void,
        bytes: ByteSlice,
        state: *mut *mut c_void,
        error: *mut OwnedBytes,
    ) -> Status,
    /// Finishes `state` (consumed whatever the outcome) into a JSON value in `*result`.
    pub finish_state: unsafe extern "C" fn(
        reducer: *const c_void,
        state: *mut c_void,
        result: *mut OwnedBytes,
        error: *mut OwnedBytes,
    ) -> Status,
    /// Drops a state that will not be finished.
    pub drop_state: unsafe extern "C" fn(reducer: *const c_void, state: *mut c_void),
    /// Frees bytes the plugin handed out.
    pub free_bytes: unsafe extern "C" fn(bytes: OwnedBytes),
}

// SAFETY: the table is immutable after construction; its pointers are to `'static` strings
// and to functions, both of which may be read from any thread.
unsafe impl Sync for PluginTableV1 {}

/// The table of ABI version 1.1: the 1.0 table, then what a runner needs to describe the plugin
/// and to keep checkpoints of it apart from another plugin's. A runner reads these fields only
/// when `header.table_size` covers them.
#[repr(C)]
pub struct PluginTableV1_1 {
    /// The 1.0 table, header first.
    pub v1_0: PluginTableV1,
    /// The plugin's [`crate::Reducer::STATE_FORMAT`]: the version of what `save_state` writes.
    pub state_format: u32,
    /// 1 when the plugin was compiled with debug assertions, else 0.
    pub debug_assertions: u32,
    /// The `opt-level` the plugin was compiled with (UTF-8: `0` to `3`, `s` or `z`); `0` is a
    /// build without optimisations, which runs several times slower.
    pub opt_level: ByteSlice,
}

// SAFETY: as for `PluginTableV1`: immutable, and its pointers are to `'static` data.
unsafe impl Sync for PluginTableV1_1 {}
