//! MD5 (RFC 1321), only to compare downloads with the checksums their publishers
//! list (MNIST's and CIFAR-10's are MD5); not for anything that needs security.

use std::io::Read;

/// Per-round shift amounts.
const SHIFT: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
    14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15,
    21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// floor(2^32 · |sin(i + 1)|), the RFC's table T.
fn constants() -> [u32; 64] {
    std::array::from_fn(|i| ((i as f64 + 1.0).sin().abs() * 4_294_967_296.0) as u32)
}

struct State {
    h: [u32; 4],
    k: [u32; 64],
}

impl State {
    fn block(&mut self, block: &[u8]) {
        let m: [u32; 16] = std::array::from_fn(|i| {
            u32::from_le_bytes(block[4 * i..4 * i + 4].try_into().unwrap())
        });
        let [mut a, mut b, mut c, mut d] = self.h;
        for (i, (&k, &shift)) in self.k.iter().zip(&SHIFT).enumerate() {
            let (f, g) = match i / 16 {
                0 => ((b & c) | (!b & d), i),
                1 => ((d & b) | (!d & c), (5 * i + 1) % 16),
                2 => (b ^ c ^ d, (3 * i + 5) % 16),
                _ => (c ^ (b | !d), (7 * i) % 16),
            };
            let sum = a.wrapping_add(f).wrapping_add(k).wrapping_add(m[g]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(sum.rotate_left(shift));
        }
        for (h, v) in self.h.iter_mut().zip([a, b, c, d]) {
            *h = h.wrapping_add(v);
        }
    }
}

/// The MD5 of everything `r` yields, as 32 lowercase hex digits.
pub fn md5_hex(mut r: impl Read) -> std::io::Result<String> {
    let mut s = State {
        h: [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476],
        k: constants(),
    };
    let mut buf = vec![0u8; 1 << 16];
    let mut held = 0usize;
    let mut total = 0u64;
    loop {
        let n = r.read(&mut buf[held..])?;
        if n == 0 {
            break;
        }
        total += n as u64;
        held += n;
        let whole = held / 64 * 64;
        for block in buf[..whole].chunks_exact(64) {
            s.block(block);
        }
        buf.copy_within(whole..held, 0);
        held -= whole;
    }
    // Padding: 0x80, zeros to 56 mod 64, then the length in bits.
    let mut tail = buf[..held].to_vec();
    tail.push(0x80);
    while tail.len() % 64 != 56 {
        tail.push(0);
    }
    tail.extend_from_slice(&total.wrapping_mul(8).to_le_bytes());
    for block in tail.chunks_exact(64) {
        s.block(block);
    }
    Ok(s.h
        .iter()
        .flat_map(|h| h.to_le_bytes())
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::md5_hex;

    #[test]
    fn matches_the_rfc_test_suite() {
        let md5 = |s: &[u8]| md5_hex(s).unwrap();
        assert_eq!(md5(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            md5(
                b"12345678901234567890123456789012345678901234567890123456789012345678901234567890"
            ),
            "57edf4a22be3c955ac49da2e2107b67a"
        );
        // Longer than the read buffer, so blocks straddle reads.
        let long = vec![b'a'; 1_000_000];
        assert_eq!(md5(&long), "7707d6ae4e027c70eea2a935c2296f21");
    }
}
