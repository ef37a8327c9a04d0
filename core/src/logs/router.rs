//! How a record logged anywhere in the core reaches the right tracker's log.
//!
//! The `log` facade has one logger per process, and a process may hold several trackers (tests
//! do; an app with two accounts could). So the core installs one process-wide router, once, and
//! each tracker registers its [`LogHub`] with it. Which tracker a record belongs to is known
//! from the thread that logged it: a tracker's entry points and its upload thread run inside a
//! [`Scope`] naming the tracker's hub (a thread-local, as `log::Record` carries no context and
//! passing a logger to every call site would put the tracker in every function's arguments).
//! A record logged outside any scope goes to every registered log: with the one tracker an app
//! has, that is the right one, and nothing is lost.
//!
//! Only targets starting with `tracelet` are taken: other crates' records (an HTTP client's,
//! say) are not ours to store, and might hold what the SDK promises to keep out (URLs with
//! tokens). In a Rust program that installed its own logger first, the router is not installed
//! and the on-device log stays empty; the Kotlin and Swift libraries each carry their own copy
//! of `log`, so there the slot is always the SDK's.
//!
//! The process-wide level (`log::max_level`) is the most detailed any live tracker wants, so a
//! suppressed call costs one relaxed atomic load and a compare (see `tracelet-bench`).

use std::cell::RefCell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once, Weak};

use super::writer::LogHub;

static ROUTER: Router = Router;
static INSTALL: Once = Once::new();
/// Whether `log::set_logger` took the router (then the process-wide level is ours to set).
static INSTALLED: AtomicBool = AtomicBool::new(false);
static HUBS: Mutex<Vec<Weak<LogHub>>> = Mutex::new(Vec::new());

thread_local! {
    static CURRENT: RefCell<Option<Arc<LogHub>>> = const { RefCell::new(None) };
}

struct Router;

impl log::Log for Router {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        is_ours(metadata.target())
    }

    fn log(&self, record: &log::Record<'_>) {
        if !is_ours(record.target()) {
            return;
        }
        let current = CURRENT
            .try_with(|current| current.borrow().clone())
            .ok()
            .flatten();
        match current {
            Some(hub) => hub.accept(record),
            None => {
                // Upgraded under the lock, used and released after it: a hub dropped here
                // (its tracker went away meanwhile) re-enters `refresh_max_level`.
                let hubs: Vec<Arc<LogHub>> = lock().iter().filter_map(Weak::upgrade).collect();
                for hub in &hubs {
                    hub.accept(record);
                }
            }
        }
    }

    fn flush(&self) {}
}

fn is_ours(target: &str) -> bool {
    target.starts_with("tracelet")
}

/// Adds a tracker's log, installing the router the first time.
pub(crate) fn register(hub: &Arc<LogHub>) {
    INSTALL.call_once(|| {
        INSTALLED.store(log::set_logger(&ROUTER).is_ok(), Ordering::SeqCst);
    });
    {
        let mut hubs = lock();
        hubs.retain(|weak| weak.strong_count() > 0);
        hubs.push(Arc::downgrade(hub));
    }
    refresh_max_level();
}

/// Sets the process-wide level to the most detailed any live log wants.
pub(crate) fn refresh_max_level() {
    if !INSTALLED.load(Ordering::SeqCst) {
        return;
    }
    let hubs: Vec<Arc<LogHub>> = lock().iter().filter_map(Weak::upgrade).collect();
    let most = hubs.iter().map(|hub| hub.threshold()).max().unwrap_or(0);
    drop(hubs);
    log::set_max_level(match most {
        0 => log::LevelFilter::Off,
        1 => log::LevelFilter::Error,
        2 => log::LevelFilter::Warn,
        3 => log::LevelFilter::Info,
        4 => log::LevelFilter::Debug,
        _ => log::LevelFilter::Trace,
    });
}

/// Records logged on this thread go to `hub` until the scope ends (scopes nest).
/// Not `Send`: it restores the thread-local of the thread that made it.
pub(crate) struct Scope {
    previous: Option<Arc<LogHub>>,
    _this_thread: PhantomData<*const ()>,
}

pub(crate) fn enter(hub: &Arc<LogHub>) -> Scope {
    let previous = CURRENT
        .try_with(|current| current.replace(Some(Arc::clone(hub))))
        .ok()
        .flatten();
    Scope {
        previous,
        _this_thread: PhantomData,
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let replaced = CURRENT
            .try_with(|current| current.replace(previous))
            .ok()
            .flatten();
        // Dropped outside the borrow: it may be the hub's last reference.
        drop(replaced);
    }
}

fn lock() -> std::sync::MutexGuard<'static, Vec<Weak<LogHub>>> {
    HUBS.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
