//! Runtime selection of the vector extension for plain-Rust loops. The crate is
//! built for baseline x86-64 (SSE2) so that it runs on any x86-64 CPU; the hot
//! loops that the compiler vectorizes well are declared with [`vectorized!`],
//! which compiles them again with AVX-512 and with AVX2 enabled and calls the
//! best one this CPU supports (a cached check, cheap enough per call).

/// Declares `fn NAME(ARGS) -> RET` that runs the `#[inline(always)]` function
/// `BODY` (same arguments) compiled for the widest vector extension the CPU
/// has. `BODY` must inline completely (no closures handed to other threads)
/// for the wider instructions to reach its loops.
#[macro_export]
macro_rules! vectorized {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? = $body:path;) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F, checked just above.
                    return unsafe { avx512($($arg),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked just above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

#[cfg(test)]
mod tests {
    #[inline(always)]
    fn sum_body(v: &[f32]) -> f32 {
        v.iter().sum()
    }

    crate::vectorized! {
        fn sum(v: &[f32]) -> f32 = sum_body;
    }

    #[test]
    fn dispatches_to_the_body() {
        let v: Vec<f32> = (1..=10).map(|x| x as f32).collect();
        assert_eq!(sum(&v), 55.0);
    }
}
