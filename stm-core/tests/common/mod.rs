//! Helpers shared by the engine's integration tests.

// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it has not finished
/// within `secs` (a generous bound: only a hang trips it).
pub fn within<T: Send + 'static>(
    secs: u64,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (send, recv) = mpsc::channel();
    let handle = thread::spawn(move || {
        let value = f();
        let _ = send.send(());
        value
    });
    match recv.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) => handle.join().unwrap(),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // The closure panicked: propagate its panic.
            match handle.join() {
                Ok(_) => unreachable!("finished without sending"),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: did not finish within {secs}s"),
    }
}

/// One step of xorshift64: a cheap, reproducible random sequence.
pub fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

/// The text of a caught panic.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else {
        String::from("<non-string panic>")
    }
}
