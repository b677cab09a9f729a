//! MD5 through AWS-LC's assembly implementation, which is already linked for TLS: DVC's object
//! ids are md5s, and hashing is the floor of every `add`. About as fast as coreutils' `md5sum`,
//! where the pure-Rust `md-5` crate is ~40% slower (see README benchmarks).

use std::mem::MaybeUninit;

/// An incremental MD5, API-compatible with what the data layer needs.
pub struct Md5 {
    ctx: aws_lc_sys::MD5_CTX,
}

impl Default for Md5 {
    fn default() -> Self {
        Self::new()
    }
}

impl Md5 {
    pub fn new() -> Md5 {
        let mut ctx = MaybeUninit::<aws_lc_sys::MD5_CTX>::uninit();
        // SAFETY: MD5_Init fully initialises the context it is given and cannot fail.
        unsafe {
            aws_lc_sys::MD5_Init(ctx.as_mut_ptr());
            Md5 {
                ctx: ctx.assume_init(),
            }
        }
    }

    pub fn update(&mut self, data: &[u8]) {
        // SAFETY: the context is initialised; the pointer and length describe `data`.
        unsafe {
            aws_lc_sys::MD5_Update(&mut self.ctx, data.as_ptr().cast(), data.len());
        }
    }

    /// The lowercase hex digest.
    pub fn finish_hex(mut self) -> String {
        let mut out = [0u8; 16];
        // SAFETY: `out` has the 16 bytes MD5_Final writes; the context is initialised.
        unsafe {
            aws_lc_sys::MD5_Final(out.as_mut_ptr(), &mut self.ctx);
        }
        hex::encode(out)
    }

    /// The hex md5 of `bytes`.
    pub fn hex_of(bytes: &[u8]) -> String {
        let mut h = Md5::new();
        h.update(bytes);
        h.finish_hex()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_known_digests_and_the_reference_crate() {
        assert_eq!(Md5::hex_of(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(Md5::hex_of(b"[]"), "d751713988987e9331980363e24189ce");
        let data: Vec<u8> = (0..3_000_003u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut chunked = Md5::new();
        for c in data.chunks(65_537) {
            chunked.update(c);
        }
        use md5::Digest as _;
        assert_eq!(chunked.finish_hex(), hex::encode(md5::Md5::digest(&data)));
    }
}
