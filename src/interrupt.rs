//! Stopping long work cleanly on Ctrl-C (SIGINT) or SIGTERM: a process-wide flag that a signal
//! handler sets, and a cheap [`check`] that long loops (cross-validation folds, tree building)
//! poll, so the work unwinds through its ordinary error path — the run is marked KILLED, staging
//! folders are removed, the workspace is put back — instead of the process dying mid-write. A
//! second signal exits at once. Knows nothing of the layers that poll it.

use std::sync::atomic::{AtomicI32, Ordering};

/// The first signal received (0: none yet).
static RECEIVED: AtomicI32 = AtomicI32::new(0);

/// Long work stopped because the user (or a supervisor) asked the process to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Interrupted by {}", signal_name(*.signal))]
pub struct Interrupted {
    /// The signal number (`SIGINT`, `SIGTERM`).
    pub signal: i32,
}

impl Interrupted {
    /// The exit code a shell expects after this signal: 128 + its number (130, 143).
    pub fn exit_code(self) -> u8 {
        (128 + self.signal).clamp(0, 255) as u8
    }
}

fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGINT => "Ctrl-C (SIGINT)".into(),
        libc::SIGTERM => "SIGTERM".into(),
        n => format!("signal {n}"),
    }
}

/// Makes SIGINT and SIGTERM set the flag instead of ending the process; a second one ends it
/// at once with 128 + its number. Only commands that poll [`check`] install it: elsewhere the
/// default (ending the process) is what a person expects of Ctrl-C.
pub fn install() -> std::io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `on_signal` only touches an atomic and calls async-signal-safe functions
        // (`write`, `_exit`); the `sigaction` struct is fully initialised before the call.
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            // Restart interrupted system calls: the work must finish its current write.
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    tracing::debug!("Ctrl-C and SIGTERM now stop the work cleanly; a second one exits at once");
    Ok(())
}

extern "C" fn on_signal(signal: libc::c_int) {
    if RECEIVED
        .compare_exchange(0, signal, Ordering::SeqCst, Ordering::SeqCst)
        .is_err()
    {
        // SAFETY: `_exit` is async-signal-safe; nothing is flushed or unwound, on purpose.
        unsafe { libc::_exit(128 + signal) }
    }
    let note = b"\nstopping: cleaning up (press Ctrl-C again to quit at once)\n";
    // SAFETY: `write` is async-signal-safe; the buffer outlives the call.
    unsafe {
        libc::write(libc::STDERR_FILENO, note.as_ptr().cast(), note.len());
    }
}

/// The interruption, if one was requested.
pub fn requested() -> Option<Interrupted> {
    match RECEIVED.load(Ordering::Relaxed) {
        0 => None,
        signal => Some(Interrupted { signal }),
    }
}

/// `Err` once an interruption was requested: what long work polls at its loop boundaries.
pub fn check() -> Result<(), Interrupted> {
    requested().map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell_convention() {
        let int = Interrupted {
            signal: libc::SIGINT,
        };
        let term = Interrupted {
            signal: libc::SIGTERM,
        };
        assert_eq!(int.exit_code(), 130);
        assert_eq!(term.exit_code(), 143);
        assert_eq!(int.to_string(), "Interrupted by Ctrl-C (SIGINT)");
        assert_eq!(term.to_string(), "Interrupted by SIGTERM");
    }
}
