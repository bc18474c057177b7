//! Splitting elementwise work over the worker threads. The results do not depend
//! on the split (every value is computed on its own), only the speed does.

/// Fewer values than this per task cost more to hand to another thread than
/// to compute (a cache-resident ReLU of 32 Ki values takes a few microseconds).
const MIN_TASK_VALUES: usize = 1 << 15;

/// The length of each parallel task over `values` values made of whole blocks of
/// `block` values (a channel plane, say): one task per thread for large inputs,
/// a single task for small ones. Never 0, so it can go to `par_chunks`.
pub fn task_len(values: usize, block: usize) -> usize {
    let block = block.max(1);
    let blocks = values.div_ceil(block).max(1);
    let threads = rayon::current_num_threads().max(1);
    let min_blocks = MIN_TASK_VALUES.div_ceil(block);
    let per_task = blocks.div_ceil(threads).max(min_blocks).min(blocks);
    per_task * block
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_hold_whole_blocks_and_cover_everything() {
        for (values, block) in [
            (0, 1),
            (1, 1),
            (100, 7),
            (1 << 20, 1),
            (3 << 20, 196),
            (5, 0),
        ] {
            let len = task_len(values, block);
            assert!(len > 0);
            assert_eq!(len % block.max(1), 0);
            assert!(len * rayon::current_num_threads().max(1) >= values || len >= values);
        }
        assert_eq!(task_len(100, 1), 100, "small inputs stay in one task");
    }
}
