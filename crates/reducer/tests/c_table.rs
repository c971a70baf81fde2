//! The exported C table, driven in-process as the runner drives a loaded plugin: a reference
//! reducer is exported with `export_reducer!` and called through its table's entry points
//! only, with the buffers and statuses of `abi`.
//!
//! `export_reducer!` defines one `#[no_mangle]` symbol, so a crate exports one reducer: the
//! panicking behaviour is chosen by the config (`panic_on`).
//!
//! In a plugin library the SDK's panic hook is the plugin's own copy of std's; here it is this
//! test binary's, and it prints nothing. [`host`] wraps it so that a failing assertion in these
//! tests still shows its message.

use std::collections::BTreeSet;
use std::ffi::c_void;
use std::sync::Once;

use pagefold_reducer::abi::{
    ABI_MAJOR, ABI_MINOR, BoundsSlice, ByteSlice, OwnedBytes, PluginTableV1, RecordBounds,
    STATUS_ERROR, STATUS_OK, STATUS_PANICKED, Status,
};
use pagefold_reducer::{Position, Reducer, ReducerError, export_reducer};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Counts records, sums their `n` and keeps their ids; panics on the record whose id is
/// `panic_on`.
pub struct Reference {
    panic_on: Option<u64>,
}

/// The reducer's `config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    panic_on: Option<u64>,
}

/// The fields read from a record.
#[derive(Deserialize)]
pub struct Record {
    id: u64,
    n: Option<i64>,
}

/// A partial result.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    count: u64,
    sum: i64,
    ids: BTreeSet<u64>,
    /// The first record folded, by position.
    first: Option<Position>,
}

impl Reducer for Reference {
    type Config = Config;
    type State = State;
    type Record<'a> = Record;

    fn new(config: Config) -> Result<Self, ReducerError> {
        Ok(Self {
            panic_on: config.panic_on,
        })
    }

    fn init(&self) -> State {
        State::default()
    }

    fn fold(&self, state: &mut State, record: Record, at: Position) -> Result<(), ReducerError> {
        if self.panic_on == Some(record.id) {
            panic!("record {} is cursed", record.id);
        }
        state.count += 1;
        state.sum += record.n.unwrap_or(0);
        state.ids.insert(record.id);
        state.first = Some(state.first.map_or(at, |first| first.min(at)));
        Ok(())
    }

    fn merge(&self, into: &mut State, other: State) {
        into.count += other.count;
        into.sum += other.sum;
        into.ids.extend(other.ids);
        into.first = match (into.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    fn finish(&self, state: State) -> Value {
        json!({
            "count": state.count,
            "sum": state.sum,
            "ids": state.ids,
            "first": state.first,
        })
    }
}

export_reducer!(Reference);

const POISONED: &str = "this state was poisoned by an earlier panic and cannot be used";

/// The table, as the runner reads it from the entry point.
fn table() -> &'static PluginTableV1 {
    let header = pagefold_reducer_plugin();
    assert!(!header.is_null());
    // SAFETY: the entry point `export_reducer!` wrote returns a pointer to a `static`
    // `PluginTableV1` (its header is the first field of the `repr(C)` table), valid for the
    // whole process.
    unsafe { &*header.cast::<PluginTableV1>() }
}

/// The table, with the SDK's panic hook (installed by the first call through the table)
/// wrapped so that panics outside the table still print their message.
fn host() -> &'static PluginTableV1 {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let reducer = Host::reducer(&json!({})).expect("an empty config is valid");
        drop(reducer);
        let sdk_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            sdk_hook(info);
            eprintln!("{info}");
        }));
    });
    table()
}

/// What an entry point answered other than `STATUS_OK`: the status and the message.
#[derive(Debug, PartialEq, Eq)]
struct Failed {
    status: Status,
    message: String,
}

/// Copies bytes the plugin handed out and gives them back to its `free_bytes`.
fn take_bytes(bytes: OwnedBytes) -> Vec<u8> {
    if bytes.ptr.is_null() {
        return Vec::new();
    }
    // SAFETY: a non-null `OwnedBytes` the plugin wrote points to `len` initialised bytes,
    // alive until they are freed below.
    let copy = unsafe { std::slice::from_raw_parts(bytes.ptr, bytes.len) }.to_vec();
    // SAFETY: the bytes came from this plugin's table and are freed once, here.
    unsafe { (table().free_bytes)(bytes) };
    copy
}

/// Runs an entry point with an error slot; a failure's message is taken and freed.
fn call(body: impl FnOnce(*mut OwnedBytes) -> Status) -> Result<(), Failed> {
    let mut error = OwnedBytes::empty();
    let status = body(&mut error);
    if status == STATUS_OK {
        assert!(error.ptr.is_null(), "no message on success");
        return Ok(());
    }
    let message = String::from_utf8(take_bytes(error)).expect("messages are UTF-8");
    Err(Failed { status, message })
}

/// A reducer built through the table, dropped through it.
struct Host {
    reducer: *mut c_void,
}

/// A state that lives in the plugin; dropped through the table unless consumed.
struct HostState<'a> {
    host: &'a Host,
    state: *mut c_void,
}

impl Host {
    fn reducer(config: &Value) -> Result<Host, Failed> {
        let config = serde_json::to_vec(config).unwrap();
        let mut reducer = std::ptr::null_mut();
        let table = table();
        // SAFETY: `config` is lent for the call; `reducer` and the error slot are writable.
        call(|error| unsafe { (table.new_reducer)(ByteSlice::new(&config), &mut reducer, error) })?;
        assert!(!reducer.is_null());
        Ok(Host { reducer })
    }

    fn state(&self) -> HostState<'_> {
        let mut state = std::ptr::null_mut();
        let table = table();
        // SAFETY: `reducer` is live (from `new_reducer`); `state` and the error slot are
        // writable.
        call(|error| unsafe { (table.new_state)(self.reducer, &mut state, error) })
            .expect("a fresh state");
        HostState { host: self, state }
    }

    fn load(&self, bytes: &[u8]) -> Result<HostState<'_>, Failed> {
        let mut state = std::ptr::null_mut();
        let table = table();
        // SAFETY: `reducer` is live; `bytes` is lent for the call; `state` and the error slot
        // are writable.
        call(|error| unsafe {
            (table.load_state)(self.reducer, ByteSlice::new(bytes), &mut state, error)
        })?;
        Ok(HostState { host: self, state })
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // SAFETY: `reducer` came from `new_reducer`; every state of it borrows this `Host`, so
        // all are gone.
        unsafe { (table().drop_reducer)(self.reducer) };
    }
}

impl HostState<'_> {
    /// Folds a page's records (a JSON array) as page `page` of chain 0.
    fn fold(&mut self, records: &str, page: u64) -> Result<(), Failed> {
        let bounds: Vec<RecordBounds> = pagefold_reducer::json::elements(records)
            .map(|element| {
                let element = element.expect("a JSON array");
                let start = element.as_ptr() as usize - records.as_ptr() as usize;
                RecordBounds {
                    start: start as u32,
                    end: (start + element.len()) as u32,
                }
            })
            .collect();
        let first = Position {
            chain: 0,
            page,
            record: 0,
        };
        let table = table();
        // SAFETY: reducer and state are live and this thread has the state to itself; the
        // records and their bounds are lent for the call and the error slot is writable.
        call(|error| unsafe {
            (table.fold_records)(
                self.host.reducer,
                self.state,
                ByteSlice::new(records.as_bytes()),
                BoundsSlice::new(&bounds),
                first,
                error,
            )
        })
    }

    fn save(&self) -> Result<Vec<u8>, Failed> {
        let mut bytes = OwnedBytes::empty();
        let table = table();
        // SAFETY: reducer and state are live and this thread has the state; `bytes` and the
        // error slot are writable.
        call(|error| unsafe {
            (table.save_state)(self.host.reducer, self.state, &mut bytes, error)
        })?;
        Ok(take_bytes(bytes))
    }

    /// Merges `other` into this state; `other` is consumed whatever the outcome.
    fn merge(&mut self, mut other: HostState<'_>) -> Result<(), Failed> {
        let other = std::mem::replace(&mut other.state, std::ptr::null_mut());
        let table = table();
        // SAFETY: both states are live, distinct and of this reducer; `other` is consumed by
        // the call and no longer referenced by its `HostState`.
        call(|error| unsafe { (table.merge_states)(self.host.reducer, self.state, other, error) })
    }

    /// Finishes the state (consumed whatever the outcome) into its JSON result.
    fn finish(mut self) -> Result<Value, Failed> {
        let state = std::mem::replace(&mut self.state, std::ptr::null_mut());
        let mut result = OwnedBytes::empty();
        let table = table();
        // SAFETY: the state is live and consumed by the call; `result` and the error slot are
        // writable.
        call(|error| unsafe {
            (table.finish_state)(self.host.reducer, state, &mut result, error)
        })?;
        Ok(serde_json::from_slice(&take_bytes(result)).expect("the result is JSON"))
    }
}

impl Drop for HostState<'_> {
    fn drop(&mut self) {
        if !self.state.is_null() {
            // SAFETY: the state is live, of this reducer, and not used again.
            unsafe { (table().drop_state)(self.host.reducer, self.state) };
        }
    }
}

const PAGE_0: &str = r#"[{"id": 1, "n": 10}, {"id": 2, "n": -3}, {"id": 3}]"#;
const PAGE_1: &str = r#"[{"id": 4, "n": 100, "extra": [1, 2]}, {"id": 5, "n": 7}]"#;

#[test]
fn the_table_names_its_abi_and_crate() {
    let table = host();
    assert_eq!(
        (table.header.abi_major, table.header.abi_minor),
        (ABI_MAJOR, ABI_MINOR)
    );
    assert_eq!(
        table.header.table_size,
        size_of::<pagefold_reducer::abi::PluginTableV1_1>()
    );
    // SAFETY: the table's strings are `'static` byte slices.
    let text = |bytes: ByteSlice| String::from_utf8(unsafe { bytes.as_slice() }.to_vec()).unwrap();
    assert_eq!(text(table.plugin_name), env!("CARGO_PKG_NAME"));
    assert_eq!(text(table.plugin_version), env!("CARGO_PKG_VERSION"));
    assert_eq!(text(table.sdk_version), pagefold_reducer::SDK_VERSION);
}

#[test]
fn a_bad_config_is_an_error_with_its_message() {
    host();
    let failed = Host::reducer(&json!({ "panic_on": "seven" })).err();
    let failed = failed.expect("the config is refused");
    assert_eq!(failed.status, STATUS_ERROR);
    assert!(
        failed
            .message
            .starts_with("invalid config: invalid type: string \"seven\", expected u64"),
        "{}",
        failed.message
    );
}

#[test]
fn a_fold_folds_every_record_of_a_page() {
    host();
    let reducer = Host::reducer(&json!({})).unwrap();
    let mut state = reducer.state();
    state.fold(PAGE_0, 3).unwrap();
    state.fold(PAGE_1, 4).unwrap();
    state.fold("[]", 5).unwrap();
    assert_eq!(
        state.finish().unwrap(),
        json!({
            "count": 5,
            "sum": 114,
            "ids": [1, 2, 3, 4, 5],
            "first": { "chain": 0, "page": 3, "record": 0 },
        })
    );
}

#[test]
fn a_fold_that_panics_answers_the_panic_status_and_poisons_the_state() {
    host();
    let reducer = Host::reducer(&json!({ "panic_on": 2 })).unwrap();
    let mut state = reducer.state();
    let failed = state.fold(PAGE_0, 0).unwrap_err();
    assert_eq!(failed.status, STATUS_PANICKED);
    let location = format!("(at {}:", file!());
    assert!(
        failed.message.starts_with("record 2 is cursed ") && failed.message.contains(&location),
        "{}",
        failed.message
    );

    // Every later call with the state is refused: a fold (even of records that would not
    // panic), a save, a merge into it, and its finish.
    let poisoned = Failed {
        status: STATUS_ERROR,
        message: POISONED.into(),
    };
    assert_eq!(state.fold(PAGE_1, 1), Err(poisoned));
    assert_eq!(state.save().unwrap_err().message, POISONED);
    let mut fresh = reducer.state();
    fresh.fold(PAGE_1, 1).unwrap();
    assert_eq!(state.merge(fresh).unwrap_err().message, POISONED);
    assert_eq!(state.finish().unwrap_err().message, POISONED);
}

#[test]
fn a_poisoned_state_cannot_be_merged_into_another() {
    host();
    let reducer = Host::reducer(&json!({ "panic_on": 4 })).unwrap();
    let mut poisoned = reducer.state();
    assert_eq!(
        poisoned.fold(PAGE_1, 1).unwrap_err().status,
        STATUS_PANICKED
    );
    let mut good = reducer.state();
    good.fold(PAGE_0, 0).unwrap();
    let failed = good.merge(poisoned).unwrap_err();
    assert_eq!(
        (failed.status, failed.message.as_str()),
        (STATUS_ERROR, POISONED)
    );
    // The merge failed halfway as far as the runner knows: the state it went into is not
    // used again either.
    assert_eq!(good.save().unwrap_err().message, POISONED);
}

#[test]
fn a_fold_that_fails_is_an_error_naming_the_record() {
    host();
    let reducer = Host::reducer(&json!({})).unwrap();
    let mut state = reducer.state();
    let failed = state.fold(r#"[{"id": 1}, {"id": "two"}]"#, 0).unwrap_err();
    assert_eq!(failed.status, STATUS_ERROR);
    assert!(
        failed
            .message
            .starts_with("record 1: invalid type: string \"two\", expected u64"),
        "{}",
        failed.message
    );
    // A fold that failed may have folded part of the page: the state is refused from now on.
    assert_eq!(state.fold(PAGE_0, 1).unwrap_err().message, POISONED);
}

#[test]
fn save_then_load_finishes_to_the_same_result() {
    host();
    let reducer = Host::reducer(&json!({})).unwrap();
    let mut original = reducer.state();
    original.fold(PAGE_0, 2).unwrap();
    original.fold(PAGE_1, 7).unwrap();
    let saved = original.save().unwrap();
    let loaded = reducer.load(&saved).unwrap();
    assert_eq!(
        loaded.save().unwrap(),
        saved,
        "a loaded state saves as it was"
    );
    let expected = original.finish().unwrap();
    assert_eq!(expected["count"], json!(5));
    assert_eq!(loaded.finish().unwrap(), expected);
}

#[test]
fn a_state_that_is_not_a_saved_one_does_not_load() {
    host();
    let reducer = Host::reducer(&json!({})).unwrap();
    let failed = reducer.load(b"{\"count\": true}").err().expect("refused");
    assert_eq!(failed.status, STATUS_ERROR);
    assert!(
        failed.message.starts_with("cannot load state: "),
        "{}",
        failed.message
    );
}

#[test]
fn merging_two_states_equals_folding_both_pages_into_one() {
    host();
    let reducer = Host::reducer(&json!({})).unwrap();
    let mut one = reducer.state();
    one.fold(PAGE_0, 0).unwrap();
    one.fold(PAGE_1, 1).unwrap();
    let expected = one.finish().unwrap();

    // Pages folded by two workers, in the other order, merged either way round.
    for swap in [false, true] {
        let (mut a, mut b) = (reducer.state(), reducer.state());
        a.fold(PAGE_1, 1).unwrap();
        b.fold(PAGE_0, 0).unwrap();
        let (mut into, other) = if swap { (b, a) } else { (a, b) };
        into.merge(other).unwrap();
        // A fresh state merges as the identity.
        into.merge(reducer.state()).unwrap();
        assert_eq!(into.finish().unwrap(), expected);
    }
}
