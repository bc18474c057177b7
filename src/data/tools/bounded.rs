//! A reader that refuses to yield more than a set number of bytes: decompressed
//! archives are read through it, so that a small gzip bomb ends in a clear error
//! instead of eating memory or time.

use std::io::{Error, Read, Result};

/// Most bytes any archive caffers reads decompresses to: the largest official one,
/// CIFAR-10's binary tar, is about 184 MB.
pub const ARCHIVE_LIMIT: u64 = 256 << 20;

/// At most `limit` bytes of `inner`; more is an error naming the limit.
pub struct Bounded<R> {
    inner: R,
    left: u64,
    limit: u64,
}

impl<R: Read> Bounded<R> {
    pub fn new(inner: R, limit: u64) -> Self {
        Bounded {
            inner,
            left: limit,
            limit,
        }
    }
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        // One byte more than allowed tells "exactly at the limit" from "over it".
        let want = buf
            .len()
            .min(usize::try_from(self.left + 1).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n as u64 > self.left {
            return Err(Error::other(format!(
                "it decompresses to more than {} MB, more than any dataset archive",
                self.limit >> 20
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_up_to_the_limit_and_refuses_more() {
        let mut out = Vec::new();
        Bounded::new(&[7u8; 100][..], 100)
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out.len(), 100);
        let e = Bounded::new(&[7u8; 101][..], 100)
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(e.to_string().contains("decompresses to more than"), "{e}");
    }
}
