//! The local login name, as Python's `getpass.getuser()` finds it. It sits below every layer
//! because two of them need it and must not reach into each other: `track` records it as a run's
//! user, `data` logs in to SSH remotes with it (as DVC does) when no user is configured.

/// The login name as Python's `getpass.getuser()` finds it: `LOGNAME`, `USER`, `LNAME`,
/// `USERNAME`, then the password database.
pub fn user_name() -> Option<String> {
    ["LOGNAME", "USER", "LNAME", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(|| {
            // SAFETY: getpwuid returns a pointer into static storage or null; the name is
            // copied out at once, before any other call could overwrite it.
            unsafe {
                let pw = libc::getpwuid(libc::getuid());
                if pw.is_null() || (*pw).pw_name.is_null() {
                    return None;
                }
                Some(
                    std::ffi::CStr::from_ptr((*pw).pw_name)
                        .to_string_lossy()
                        .into_owned(),
                )
            }
        })
}
