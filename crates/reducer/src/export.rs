//! The `extern "C"` shim that [`crate::export_reducer!`] points the plugin table at.
//!
//! This is one of the two places in pagefold with `unsafe` (the runner's loader is the other).
//! Every function here trusts only what the ABI promises (see [`crate::abi`]): the runner
//! passes back the pointers these functions created, lends byte slices for one call, and
//! never uses one state from two threads at once.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::abi::{
    ABI_MAJOR, ABI_MINOR, BoundsSlice, ByteSlice, OwnedBytes, PluginHeader, PluginTableV1,
    PluginTableV1_1, STATUS_ERROR, STATUS_OK, STATUS_PANICKED, Status,
};
use crate::reducer::without_position;
use crate::{Position, Reducer, ReducerError, fold_records as fold_page};

/// A plugin-owned state and whether a panic left it unusable.
struct StateCell<S> {
    poisoned: bool,
    state: S,
}

/// The optimisation level this crate was compiled with: the plugin's (see build.rs).
const OPT_LEVEL: &str = env!("PAGEFOLD_REDUCER_OPT_LEVEL");

/// Builds the table for `R`; called by `export_reducer!` in a `static`, with the plugin crate's
/// name and version and whether it was compiled with debug assertions (a `cfg!` that must be
/// evaluated in the plugin crate, hence a parameter).
pub const fn table<R: Reducer>(
    name: &'static str,
    version: &'static str,
    debug_assertions: bool,
) -> PluginTableV1_1 {
    PluginTableV1_1 {
        v1_0: PluginTableV1 {
            header: PluginHeader {
                abi_major: ABI_MAJOR,
                abi_minor: ABI_MINOR,
                table_size: size_of::<PluginTableV1_1>(),
            },
            plugin_name: ByteSlice::new(name.as_bytes()),
            plugin_version: ByteSlice::new(version.as_bytes()),
            sdk_version: ByteSlice::new(crate::SDK_VERSION.as_bytes()),
            new_reducer: new_reducer::<R>,
            drop_reducer: drop_reducer::<R>,
            new_state: new_state::<R>,
            fold_records: fold_records::<R>,
            merge_states: merge_states::<R>,
            save_state: save_state::<R>,
            load_state: load_state::<R>,
            finish_state: finish_state::<R>,
            drop_state: drop_state::<R>,
            free_bytes,
        },
        state_format: R::STATE_FORMAT,
        debug_assertions: debug_assertions as u32,
        opt_level: ByteSlice::new(OPT_LEVEL.as_bytes()),
    }
}

thread_local! {
    /// Where the panic hook leaves the location of the last panic on this thread.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replaces the default hook (of the plugin's own copy of std) with one that records where the
/// panic happened instead of printing: the runner prints the message once, with the plugin's
/// name. The library is never unloaded, so the thread-local it writes outlives every call.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let location = info
                .location()
                .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
            PANIC_LOCATION.with(|cell| *cell.borrow_mut() = location);
        }));
    });
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let message = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    };
    match PANIC_LOCATION.with(|cell| cell.borrow_mut().take()) {
        Some(location) => format!("{message} (at {location})"),
        None => message,
    }
}

fn into_owned(bytes: Vec<u8>) -> OwnedBytes {
    let mut bytes = std::mem::ManuallyDrop::new(bytes);
    OwnedBytes {
        ptr: bytes.as_mut_ptr(),
        len: bytes.len(),
        capacity: bytes.capacity(),
    }
}

/// Runs `body`, turning an error or a panic into a status and a message in `error`.
///
/// # Safety
///
/// `error` must be valid for a write of an [`OwnedBytes`].
unsafe fn guard(error: *mut OwnedBytes, body: impl FnOnce() -> Result<(), ReducerError>) -> Status {
    install_panic_hook();
    let (status, message) = match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return STATUS_OK,
        Ok(Err(failure)) => (STATUS_ERROR, failure.message().to_owned()),
        Err(payload) => {
            let message = panic_message(payload.as_ref());
            // A payload whose destructor panics must not unwind into the runner either.
            let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(payload)));
            (STATUS_PANICKED, message)
        }
    };
    // SAFETY: the caller guarantees `error` is valid for a write.
    unsafe { error.write(into_owned(message.into_bytes())) };
    status
}

/// # Safety
///
/// `config` is lent for the call; `reducer` and `error` are valid for writes.
unsafe extern "C" fn new_reducer<R: Reducer>(
    config: ByteSlice,
    reducer: *mut *mut c_void,
    error: *mut OwnedBytes,
) -> Status {
    // SAFETY: `error` is valid for writes, as this function's contract requires.
    unsafe {
        guard(error, || {
            // SAFETY: the runner lends `config` for the duration of this call.
            let config = config.as_slice();
            let config: R::Config = serde_json::from_slice(config).map_err(|e| {
                ReducerError::new(format!("invalid config: {}", without_position(&e)))
            })?;
            let built = Box::new(R::new(config)?);
            reducer.write(Box::into_raw(built).cast());
            Ok(())
        })
    }
}

/// # Safety
///
/// `reducer` came from `new_reducer::<R>` and is not used again.
unsafe extern "C" fn drop_reducer<R: Reducer>(reducer: *mut c_void) {
    // SAFETY: `reducer` is the `Box<R>` that `new_reducer` leaked, handed back once.
    let reducer = unsafe { Box::from_raw(reducer.cast::<R>()) };
    // A panic in a destructor must not unwind into the runner.
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(reducer)));
}

/// # Safety
///
/// `reducer` came from `new_reducer::<R>`; `state` and `error` are valid for writes.
unsafe extern "C" fn new_state<R: Reducer>(
    reducer: *const c_void,
    state: *mut *mut c_void,
    error: *mut OwnedBytes,
) -> Status {
    // SAFETY: `reducer` points to a live `R` (from `new_reducer`), `error` is writable.
    unsafe {
        let reducer = &*reducer.cast::<R>();
        guard(error, || {
            let cell = Box::new(StateCell {
                poisoned: false,
                state: reducer.init(),
            });
            state.write(Box::into_raw(cell).cast());
            Ok(())
        })
    }
}

fn poisoned() -> ReducerError {
    ReducerError::new("this state was poisoned by an earlier panic and cannot be used")
}

/// # Safety
///
/// `reducer` and `state` came from this plugin's `new_reducer::<R>` and `new_state::<R>` (or
/// `load_state::<R>`); `records` and `bounds` are lent for the call; `error` is valid for
/// writes.
unsafe extern "C" fn fold_records<R: Reducer>(
    reducer: *const c_void,
    state: *mut c_void,
    records: ByteSlice,
    bounds: BoundsSlice,
    first: Position,
    error: *mut OwnedBytes,
) -> Status {
    // SAFETY: see the function's contract: both pointers are live and this thread has the
    // state to itself; the records are lent for this call.
    unsafe {
        let reducer = &*reducer.cast::<R>();
        let cell = &mut *state.cast::<StateCell<R::State>>();
        let records = records.as_slice();
        let bounds = bounds.as_slice();
        let was_poisoned = cell.poisoned;
        cell.poisoned = true;
        let status = guard(error, || {
            if was_poisoned {
                return Err(poisoned());
            }
            fold_page(reducer, &mut cell.state, records, bounds, first)
        });
        // A fold that failed halfway may have folded part of the page: the state is not used
        // again, whatever the failure.
        cell.poisoned = was_poisoned || status != STATUS_OK;
        status
    }
}

/// # Safety
///
/// As for `fold_records`; `other` is a state of this reducer, distinct from `into`, and is
/// consumed.
unsafe extern "C" fn merge_states<R: Reducer>(
    reducer: *const c_void,
    into: *mut c_void,
    other: *mut c_void,
    error: *mut OwnedBytes,
) -> Status {
    // SAFETY: see the function's contract; `other` is the leaked box of a distinct state.
    unsafe {
        let reducer = &*reducer.cast::<R>();
        let into = &mut *into.cast::<StateCell<R::State>>();
        let other = Box::from_raw(other.cast::<StateCell<R::State>>());
        let was_poisoned = into.poisoned;
        into.poisoned = true;
        let status = guard(error, || {
            if was_poisoned || other.poisoned {
                return Err(poisoned());
            }
            reducer.merge(&mut into.state, other.state);
            Ok(())
        });
        into.poisoned = was_poisoned || status != STATUS_OK;
        status
    }
}

/// # Safety
///
/// As for `fold_records`; `bytes` is valid for writes.
unsafe extern "C" fn save_state<R: Reducer>(
    reducer: *const c_void,
    state: *const c_void,
    bytes: *mut OwnedBytes,
    error: *mut OwnedBytes,
) -> Status {
    // SAFETY: `reducer` and `state` are the live boxes `new_reducer` and `new_state` leaked
    // (the runner passes nothing else), no other thread uses the state during the call, and
    // `bytes` and `error` are writable out-parameters.
    unsafe {
        let reducer = &*reducer.cast::<R>();
        let cell = &*state.cast::<StateCell<R::State>>();
        guard(error, || {
            if cell.poisoned {
                return Err(poisoned());
            }
            bytes.write(into_owned(reducer.save(&cell.state)?));
            Ok(())
        })
    }
}

/// # Safety
///
/// `reducer` came from `new_reducer::<R>`; `bytes` is lent for the call; `state` and `error`
/// are valid for writes.
unsafe extern "C" fn load_state<R: Reducer>(
    reducer: *const c_void,
    bytes: ByteSlice,
    state: *mut *mut c_void,
    error: *mut OwnedBytes,
) -> Status {
    // SAFETY: `reducer` is the live box `new_reducer` leaked, `bytes` is lent for this call,
    // and `state` and `error` are writable out-parameters.
    unsafe {
        let reducer = &*reducer.cast::<R>();
        let bytes = bytes.as_slice();
        guard(error, || {
            let cell = Box::new(StateCell {
                poisoned: false,
                state: reducer.load(bytes)?,
            });
            state.write(Box::into_raw(cell).cast());
            Ok(())
        })
    }
}

/// # Safety
///
/// As for `fold_records`; `state` is consumed; `result` is valid for writes.
unsafe extern "C" fn finish_state<R: Reducer>(
    reducer: *const c_void,
    state: *mut c_void,
    result: *mut OwnedBytes,
    error: *mut OwnedBytes,
) -> Status {
    // SAFETY: `reducer` is the live box `new_reducer` leaked; `state` is the box
    // `new_state`/`load_state` leaked, handed back once and consumed here; `result` and
    // `error` are writable out-parameters.
    unsafe {
        let reducer = &*reducer.cast::<R>();
        let cell = Box::from_raw(state.cast::<StateCell<R::State>>());
        guard(error, || {
            if cell.poisoned {
                return Err(poisoned());
            }
            let value = reducer.finish(cell.state);
            let json = serde_json::to_vec(&value)
                .map_err(|e| ReducerError::new(format!("cannot encode the result: {e}")))?;
            result.write(into_owned(json));
            Ok(())
        })
    }
}

/// # Safety
///
/// `state` came from this reducer's `new_state`/`load_state` and is not used again.
unsafe extern "C" fn drop_state<R: Reducer>(_reducer: *const c_void, state: *mut c_void) {
    // SAFETY: `state` is the leaked box, handed back once.
    let cell = unsafe { Box::from_raw(state.cast::<StateCell<R::State>>()) };
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(cell)));
}

/// # Safety
///
/// `bytes` came from this plugin (`into_owned`) and is freed once.
unsafe extern "C" fn free_bytes(bytes: OwnedBytes) {
    if bytes.ptr.is_null() {
        return;
    }
    // SAFETY: `ptr`, `len` and `capacity` are those of a `Vec<u8>` this plugin leaked.
    drop(unsafe { Vec::from_raw_parts(bytes.ptr, bytes.len, bytes.capacity) });
}

/// Exports a [`Reducer`] implementation as a pagefold plugin.
///
/// Call it once, at the crate root of a crate built with `crate-type = ["cdylib"]` and
/// `panic = "unwind"` (the default; `panic = "abort"` is refused at compile time, because the
/// runner reports a plugin's panic as an error, which an abort makes impossible). It writes the
/// C entry point the runner looks for, `pagefold_reducer_plugin`; the plugin's name and version
/// are the crate's. Without it the crate still builds, but is no plugin: the law check through
/// the C table (`laws::Laws::check_exported`, which takes that entry point) then does not compile.
///
/// ```ignore
/// pagefold_reducer::export_reducer!(MyReducer);
/// ```
#[macro_export]
macro_rules! export_reducer {
    ($reducer:ty) => {
        #[cfg(not(panic = "unwind"))]
        compile_error!(
            "a pagefold plugin must be built with `panic = \"unwind\"`: the runner reports a \
             plugin's panic as an error, which an abort would make impossible"
        );

        /// The entry point pagefold's runner looks up: the plugin table.
        #[unsafe(no_mangle)]
        pub extern "C" fn pagefold_reducer_plugin() -> *const $crate::abi::PluginHeader {
            static TABLE: $crate::abi::PluginTableV1_1 = $crate::export::table::<$reducer>(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
                cfg!(debug_assertions),
            );
            // The header is the first field of the table's first field (both `repr(C)`): a
            // pointer to the whole table is a pointer to the header, and the runner may read the
            // rest through it.
            (&raw const TABLE).cast()
        }
    };
}
