//! The law check's [`Subject`] for a built plugin: every operation goes through the C table
//! the plugin exports, with the calls pagefold's runner makes.
//!
//! This is the SDK's host side, for tests only (feature `laws`); it keeps the runner's rules:
//! nothing but the header is read before the ABI version is checked, pointers handed back
//! are exactly the ones the plugin created, and bytes it allocated go back to its `free_bytes`.

use std::ffi::c_void;
use std::ops::Range;

use serde_json::Value;

use super::case::Subject;
use crate::Position;
use crate::abi::{
    ABI_MAJOR, BoundsSlice, ByteSlice, EntryFn, OwnedBytes, PluginTableV1, RecordBounds, STATUS_OK,
    STATUS_PANICKED, Status,
};

/// A plugin's reducer, built through its table from a config.
pub(crate) struct ExportedSubject {
    table: &'static PluginTableV1,
    reducer: *mut c_void,
}

/// A state living in the plugin; dropped through the table unless consumed.
pub(crate) struct ExportedState {
    table: &'static PluginTableV1,
    reducer: *const c_void,
    state: *mut c_void,
}

impl ExportedState {
    fn take(mut self) -> *mut c_void {
        std::mem::replace(&mut self.state, std::ptr::null_mut())
    }
}

impl Drop for ExportedState {
    fn drop(&mut self) {
        if !self.state.is_null() {
            // SAFETY: the state is live, of this reducer (which outlives it: the subject is
            // borrowed for the whole check), and not used again.
            unsafe { (self.table.drop_state)(self.reducer, self.state) };
        }
    }
}

/// Copies bytes the plugin handed out and gives them back to its `free_bytes`.
fn take_bytes(table: &PluginTableV1, bytes: OwnedBytes) -> Vec<u8> {
    if bytes.ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: a non-null `OwnedBytes` the plugin wrote points to `len` initialised bytes,
    // alive until they are freed below.
    let copy = unsafe { std::slice::from_raw_parts(bytes.ptr, bytes.len) }.to_vec();
    // SAFETY: the bytes came from this plugin's table and are freed once, here.
    unsafe { (table.free_bytes)(bytes) };
    copy
}

/// Runs an entry point with an error slot; a failure is its message (and whether it panicked).
fn call(table: &PluginTableV1, body: impl FnOnce(*mut OwnedBytes) -> Status) -> Result<(), String> {
    let mut error = OwnedBytes::empty();
    let status = body(&mut error);
    if status == STATUS_OK {
        return Ok(());
    }
    let message = String::from_utf8_lossy(&take_bytes(table, error)).into_owned();
    Err(if status == STATUS_PANICKED {
        format!("the plugin panicked: {message}")
    } else {
        message
    })
}

impl ExportedSubject {
    /// Reads the table behind `entry` and builds a reducer from `config`.
    ///
    /// # Panics
    ///
    /// When the table is not one pagefold would load, or the plugin refuses the config.
    pub(crate) fn new(entry: EntryFn, config: &Value) -> Self {
        // SAFETY: the entry point takes nothing and returns a pointer to a static table (the
        // signature `EntryFn` is what `export_reducer!` defines).
        let header = unsafe { entry() };
        assert!(!header.is_null(), "the entry point returned no table");
        // SAFETY: the header is the fixed start of every version's table, valid for 'static.
        let header_ref = unsafe { &*header };
        assert_eq!(
            header_ref.abi_major, ABI_MAJOR,
            "the plugin speaks ABI {}.{}, this SDK {ABI_MAJOR}",
            header_ref.abi_major, header_ref.abi_minor
        );
        assert!(
            header_ref.table_size >= size_of::<PluginTableV1>(),
            "the plugin's table is {} bytes, shorter than ABI 1.0's",
            header_ref.table_size
        );
        // SAFETY: major version 1 with at least the size of the 1.0 table: the header is the
        // first field of a `PluginTableV1`, and the pointer the entry point returned covers it.
        let table: &'static PluginTableV1 = unsafe { &*header.cast::<PluginTableV1>() };
        // SAFETY: the table's strings are static byte slices in the plugin.
        let name = unsafe { table.plugin_name.as_slice() };
        assert!(
            std::str::from_utf8(name).is_ok_and(|n| !n.is_empty()),
            "the plugin's table has no name"
        );
        let config_bytes = serde_json::to_vec(config).expect("JSON values serialize");
        let mut reducer = std::ptr::null_mut();
        // SAFETY: `config_bytes` is lent for the call; `reducer` and the error slot are
        // writable.
        call(table, |error| unsafe {
            (table.new_reducer)(ByteSlice::new(&config_bytes), &mut reducer, error)
        })
        .unwrap_or_else(|message| panic!("the plugin refused the config {config}: {message}"));
        assert!(
            !reducer.is_null(),
            "`new_reducer` succeeded without a reducer"
        );
        Self { table, reducer }
    }

    fn state(&self, state: *mut c_void) -> ExportedState {
        ExportedState {
            table: self.table,
            reducer: self.reducer,
            state,
        }
    }

    /// Folds one record as page `page` of chain 0.
    fn fold_one(&self, state: &ExportedState, record: &str, page: u64) {
        let records = format!("[{record}]");
        let bounds = [RecordBounds {
            start: 1,
            end: 1 + u32::try_from(record.len()).expect("records under 4 GiB"),
        }];
        let first = Position {
            chain: 0,
            page,
            record: 0,
        };
        let table = self.table;
        // SAFETY: reducer and state are live and this thread has the state; the records and
        // their bounds are lent for the call and the error slot is writable.
        call(table, |error| unsafe {
            (table.fold_records)(
                self.reducer,
                state.state,
                ByteSlice::new(records.as_bytes()),
                BoundsSlice::new(&bounds),
                first,
                error,
            )
        })
        .unwrap_or_else(|message| panic!("fold failed on {record}: {message}"));
    }
}

impl Drop for ExportedSubject {
    fn drop(&mut self) {
        // SAFETY: `reducer` came from `new_reducer`; every state of it borrowed this subject
        // and is gone.
        unsafe { (self.table.drop_reducer)(self.reducer) };
    }
}

impl Subject for ExportedSubject {
    type State = ExportedState;

    fn init(&self) -> ExportedState {
        let mut state = std::ptr::null_mut();
        let table = self.table;
        // SAFETY: `reducer` is live; `state` and the error slot are writable.
        call(table, |error| unsafe {
            (table.new_state)(self.reducer, &mut state, error)
        })
        .unwrap_or_else(|message| panic!("`new_state` failed: {message}"));
        self.state(state)
    }

    fn fold(&self, records: &[String], range: Range<usize>) -> ExportedState {
        let state = self.init();
        for index in range {
            self.fold_one(&state, &records[index], index as u64);
        }
        state
    }

    fn merge(&self, into: &mut ExportedState, other: ExportedState) {
        let other = other.take();
        let table = self.table;
        // SAFETY: both states are live, distinct and of this reducer; `other` is consumed by
        // the call and no longer referenced by its `ExportedState`.
        call(table, |error| unsafe {
            (table.merge_states)(self.reducer, into.state, other, error)
        })
        .unwrap_or_else(|message| panic!("`merge_states` failed: {message}"));
    }

    fn save(&self, state: &ExportedState) -> Result<Vec<u8>, String> {
        let mut bytes = OwnedBytes::empty();
        let table = self.table;
        // SAFETY: reducer and state are live and this thread has the state; `bytes` and the
        // error slot are writable.
        call(table, |error| unsafe {
            (table.save_state)(self.reducer, state.state, &mut bytes, error)
        })?;
        Ok(take_bytes(table, bytes))
    }

    fn load(&self, bytes: &[u8]) -> Result<ExportedState, String> {
        let mut state = std::ptr::null_mut();
        let table = self.table;
        // SAFETY: `reducer` is live; `bytes` is lent for the call; `state` and the error slot
        // are writable.
        call(table, |error| unsafe {
            (table.load_state)(self.reducer, ByteSlice::new(bytes), &mut state, error)
        })?;
        Ok(self.state(state))
    }

    fn finish(&self, state: ExportedState) -> Value {
        let state = state.take();
        let mut result = OwnedBytes::empty();
        let table = self.table;
        // SAFETY: the state is live and consumed by the call; `result` and the error slot are
        // writable.
        call(table, |error| unsafe {
            (table.finish_state)(self.reducer, state, &mut result, error)
        })
        .unwrap_or_else(|message| panic!("`finish_state` failed: {message}"));
        serde_json::from_slice(&take_bytes(table, result))
            .unwrap_or_else(|e| panic!("`finish_state` returned a result that is not JSON: {e}"))
    }
}
