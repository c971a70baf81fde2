//! Loading reducer plugins and calling them through their C ABI.
//!
//! This is one of the two places in pagefold with `unsafe` (the SDK's export shim is the
//! other). The rules it keeps, each relied on by a `SAFETY` comment below:
//!
//! * a library is never unloaded: it is leaked on load, so every function pointer taken from
//!   it stays valid for the life of the process (unloading is where dynamic plugins usually
//!   break: thread-local destructors, rust-lang/rust#59629);
//! * nothing but the header is read before the ABI version is checked, and nothing past
//!   `table_size`;
//! * pointers handed back to the plugin are exactly the ones it created, each state is used by
//!   one thread at a time (a [`PluginPartial`] is owned by one worker), and bytes the plugin
//!   allocated are returned to its own `free_bytes`.

use std::any::Any;
use std::ffi::c_void;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libloading::Library;
use pagefold_reducer::abi::{
    ABI_MAJOR, BoundsSlice, ByteSlice, ENTRY_SYMBOL, EntryFn, OwnedBytes, PluginHeader,
    PluginTableV1, PluginTableV1_1, RecordBounds, STATUS_OK, STATUS_PANICKED, Status,
};

pub use super::plugin_error::PluginError;
pub use super::plugin_info::{Build, PluginInfo};
use super::{PageView, Partial, Reduce, ReduceFailure};

/// A loaded plugin library. Never unloaded.
#[derive(Clone)]
pub struct PluginLibrary {
    path: PathBuf,
    table: &'static PluginTableV1,
    info: Arc<PluginInfo>,
}

impl PluginLibrary {
    /// Loads the plugin library at `path` and checks its ABI version.
    ///
    /// # Errors
    ///
    /// When the file is missing, is not a library, is not a pagefold plugin, or was built for
    /// another ABI version.
    pub fn load(path: &Path) -> Result<Self, PluginError> {
        // Absolute, always: the loader searches the system's library path for a name
        // without a `/`, and would load another library than the file named.
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        if !path.exists() {
            return Err(PluginError::NotFound(path));
        }
        if path.is_dir() {
            return Err(PluginError::Directory(path));
        }
        // SAFETY: loading a library runs its initialisers. That is the point of a plugin: the
        // user named this file in their job, and a Rust cdylib built with our SDK has no
        // initialisers beyond std's.
        let library = unsafe { Library::new(&path) }.map_err(|e| PluginError::NotALibrary {
            path: path.clone(),
            reason: loader_reason(&e, &path),
        })?;
        let library: &'static Library = Box::leak(Box::new(library));
        // SAFETY: `EntryFn` is the type every pagefold plugin gives this symbol; a library
        // that defines the symbol otherwise is not a pagefold plugin (see `ENTRY_SYMBOL`).
        let entry: EntryFn = match unsafe { library.get::<EntryFn>(ENTRY_SYMBOL) } {
            Ok(symbol) => *symbol,
            Err(_) => return Err(PluginError::MissingSymbol(path)),
        };
        // SAFETY: the entry point takes nothing and returns a pointer to a static table.
        let entry_table = unsafe { entry() };
        if entry_table.is_null() {
            return Err(PluginError::Malformed {
                path,
                size: 0,
                expected: size_of::<PluginTableV1>(),
            });
        }
        // SAFETY: the header is the fixed start of every version's table, valid for 'static.
        let header: &'static PluginHeader = unsafe { &*entry_table };
        if header.abi_major != ABI_MAJOR {
            return Err(PluginError::AbiMismatch {
                path,
                major: header.abi_major,
                minor: header.abi_minor,
            });
        }
        if header.table_size < size_of::<PluginTableV1>() {
            return Err(PluginError::Malformed {
                path,
                size: header.table_size,
                expected: size_of::<PluginTableV1>(),
            });
        }
        // SAFETY: major version 1 with at least the size of the v1 table: the header is the
        // first field of a `PluginTableV1`, and the raw pointer the entry point returned (not
        // the reference to its header) covers the whole table.
        let table: &'static PluginTableV1 = unsafe { &*entry_table.cast::<PluginTableV1>() };
        // SAFETY: the table's strings are static byte slices in the library.
        let text =
            |bytes: ByteSlice| String::from_utf8_lossy(unsafe { bytes.as_slice() }).into_owned();
        // ABI 1.1 added the build and the state format after the 1.0 table; a 1.0 plugin has
        // neither (its build is unknown, its states are of format 1).
        let (build, state_format) = if header.table_size >= size_of::<PluginTableV1_1>() {
            // SAFETY: the table is at least as large as a 1.1 table, whose first field is the
            // 1.0 table: the pointer the entry point returned covers all of it.
            let extended: &'static PluginTableV1_1 =
                unsafe { &*entry_table.cast::<PluginTableV1_1>() };
            let build = Build {
                opt_level: text(extended.opt_level),
                debug_assertions: extended.debug_assertions != 0,
            };
            (Some(build), extended.state_format)
        } else {
            (None, 1)
        };
        let info = PluginInfo {
            name: text(table.plugin_name),
            version: text(table.plugin_version),
            sdk_version: text(table.sdk_version),
            abi: (header.abi_major, header.abi_minor),
            build,
            state_format,
        };
        Ok(Self {
            info: Arc::new(info),
            path,
            table,
        })
    }

    /// What the plugin says about itself.
    pub fn info(&self) -> &PluginInfo {
        &self.info
    }

    /// Builds a reducer of this plugin from its config.
    ///
    /// # Errors
    ///
    /// When the plugin rejects the config, or panics.
    pub fn reducer(&self, config: &serde_json::Value) -> Result<PluginReducer, PluginError> {
        let config = serde_json::to_vec(config).expect("JSON values serialize");
        let mut reducer = std::ptr::null_mut();
        let table = self.table;
        // SAFETY: `config` is lent for the call; `reducer` and the error slot are writable.
        call(table, |error| unsafe {
            (table.new_reducer)(ByteSlice::new(&config), &mut reducer, error)
        })
        .map_err(|failure| PluginError::Setup {
            plugin: self.info.name.clone(),
            path: self.path.clone(),
            failure,
        })?;
        Ok(PluginReducer {
            library: self.clone(),
            reducer,
        })
    }
}

fn loader_reason(error: &libloading::Error, path: &Path) -> String {
    let text =
        std::error::Error::source(error).map_or_else(|| error.to_string(), ToString::to_string);
    // dlopen repeats the path first; what follows it is the reason.
    let prefix = format!("{}: ", path.display());
    text.strip_prefix(&prefix).unwrap_or(&text).to_owned()
}

/// Runs one entry point with an error slot and turns its status into a result, freeing the
/// message the plugin allocated.
fn call(
    table: &PluginTableV1,
    body: impl FnOnce(*mut OwnedBytes) -> Status,
) -> Result<(), ReduceFailure> {
    let mut error = OwnedBytes::empty();
    let status = body(&mut error);
    if status == STATUS_OK {
        return Ok(());
    }
    let message = take_bytes(table, error);
    let message = String::from_utf8_lossy(&message).into_owned();
    Err(if status == STATUS_PANICKED {
        ReduceFailure::Panicked(message)
    } else {
        ReduceFailure::Failed(message)
    })
}

/// Copies bytes the plugin handed out and gives them back to it.
fn take_bytes(table: &PluginTableV1, bytes: OwnedBytes) -> Vec<u8> {
    if bytes.ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: a non-null `OwnedBytes` from the plugin points to `len` initialised bytes.
    let copy = unsafe { std::slice::from_raw_parts(bytes.ptr, bytes.len) }.to_vec();
    // SAFETY: the bytes came from this plugin and are freed once, here.
    unsafe { (table.free_bytes)(bytes) };
    copy
}

/// A configured reducer living in a plugin.
pub struct PluginReducer {
    library: PluginLibrary,
    reducer: *mut c_void,
}

// SAFETY: the plugin's reducer is a `Reducer`, which the SDK requires to be `Send + Sync`;
// the pointer is only passed back to the plugin.
unsafe impl Send for PluginReducer {}
// SAFETY: as above.
unsafe impl Sync for PluginReducer {}

impl Drop for PluginReducer {
    fn drop(&mut self) {
        // SAFETY: `reducer` came from `new_reducer` and every state of it is gone: partial
        // states hold an `Arc` of this reducer.
        unsafe { (self.library.table.drop_reducer)(self.reducer) };
    }
}

impl Reduce for Arc<PluginReducer> {
    fn plugin(&self) -> Option<super::PluginIdentity> {
        Some(self.library.info.identity())
    }

    fn describe(&self) -> String {
        format!(
            "plugin `{}` {}",
            self.library.info.name, self.library.info.version
        )
    }

    fn restore(
        &self,
        _slot: Option<usize>,
        bytes: &[u8],
    ) -> Result<Box<dyn Partial>, ReduceFailure> {
        let table = self.library.table;
        let mut state = std::ptr::null_mut();
        // SAFETY: `reducer` is live; `bytes` is lent for the call; `state` and the error slot
        // are writable.
        call(table, |error| unsafe {
            (table.load_state)(self.reducer, ByteSlice::new(bytes), &mut state, error)
        })?;
        Ok(Box::new(PluginPartial {
            reducer: self.clone(),
            state,
        }))
    }

    fn partial(&self, _slot: Option<usize>) -> Result<Box<dyn Partial>, ReduceFailure> {
        let table = self.library.table;
        let mut state = std::ptr::null_mut();
        // SAFETY: `reducer` is live; `state` and the error slot are writable.
        call(table, |error| unsafe {
            (table.new_state)(self.reducer, &mut state, error)
        })?;
        Ok(Box::new(PluginPartial {
            reducer: self.clone(),
            state,
        }))
    }
}

/// One worker's state inside a plugin.
struct PluginPartial {
    reducer: Arc<PluginReducer>,
    /// Null once consumed by `merge` or `finish`.
    state: *mut c_void,
}

// SAFETY: the SDK requires `Reducer::State: Send`, and a partial is used by one thread at a time.
unsafe impl Send for PluginPartial {}

impl PluginPartial {
    fn table(&self) -> &'static PluginTableV1 {
        self.reducer.library.table
    }

    fn take_state(&mut self) -> *mut c_void {
        std::mem::replace(&mut self.state, std::ptr::null_mut())
    }
}

impl Partial for PluginPartial {
    fn fold(&mut self, page: &PageView<'_>) -> Result<(), ReduceFailure> {
        let table = self.table();
        let records = ByteSlice::new(page.page.records_json().as_bytes());
        let bounds: Vec<RecordBounds> = page
            .page
            .record_bounds()
            .iter()
            .map(|&(start, end)| RecordBounds { start, end })
            .collect();
        let first = page.position(0);
        // SAFETY: reducer and state are live and this thread has the state; the records and
        // their bounds are lent for the call.
        call(table, |error| unsafe {
            (table.fold_records)(
                self.reducer.reducer,
                self.state,
                records,
                BoundsSlice::new(&bounds),
                first,
                error,
            )
        })
    }

    fn merge(&mut self, other: Box<dyn Partial>) -> Result<(), ReduceFailure> {
        let Ok(mut other) = other.into_any().downcast::<Self>() else {
            return Err(ReduceFailure::Failed(
                "cannot merge states of different reducers".into(),
            ));
        };
        if !Arc::ptr_eq(&self.reducer, &other.reducer) {
            return Err(ReduceFailure::Failed(
                "cannot merge states of different reducers".into(),
            ));
        }
        let table = self.table();
        let other_state = other.take_state();
        // SAFETY: both states are live, distinct and of this reducer; `other_state` is
        // consumed by the call and no longer referenced by `other`.
        call(table, |error| unsafe {
            (table.merge_states)(self.reducer.reducer, self.state, other_state, error)
        })
    }

    fn save(&self) -> Result<Vec<u8>, ReduceFailure> {
        let table = self.table();
        let mut bytes = OwnedBytes::empty();
        // SAFETY: the state is live and this thread has it; `bytes` and the error slot are
        // writable.
        call(table, |error| unsafe {
            (table.save_state)(self.reducer.reducer, self.state, &mut bytes, error)
        })?;
        Ok(take_bytes(table, bytes))
    }

    fn finish(mut self: Box<Self>) -> Result<serde_json::Value, ReduceFailure> {
        let table = self.table();
        let state = self.take_state();
        let mut result = OwnedBytes::empty();
        // SAFETY: the state is live and consumed by the call; `result` and the error slot are
        // writable.
        call(table, |error| unsafe {
            (table.finish_state)(self.reducer.reducer, state, &mut result, error)
        })?;
        let json = take_bytes(table, result);
        serde_json::from_slice(&json)
            .map_err(|e| ReduceFailure::Failed(format!("returned a result that is not JSON: {e}")))
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

impl Drop for PluginPartial {
    fn drop(&mut self) {
        if !self.state.is_null() {
            let table = self.table();
            // SAFETY: the state is live and not used again.
            unsafe { (table.drop_state)(self.reducer.reducer, self.state) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_and_a_non_library_are_errors() {
        let missing = PluginLibrary::load(Path::new("/nonexistent/libx.so"))
            .err()
            .unwrap();
        assert!(matches!(missing, PluginError::NotFound(_)));
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("libfake.so");
        std::fs::write(&fake, "not a library").unwrap();
        let error = PluginLibrary::load(&fake).err().unwrap();
        assert!(matches!(error, PluginError::NotALibrary { .. }), "{error}");
    }
}
