//! Reading a run's curves back from its log, caffers' or Caffe's, matching the
//! lines as Caffe's tools/extra/parse_log.py and plot_training_log.py do:
//! `Iteration N (…), loss = X`, `Iteration N, lr = X`, and the
//! `Test net output #k: name = X` lines after `Iteration N, Testing net (#t)`.
//! Other lines are skipped.

use super::Run;

/// The number right after `key` in `line` (digits, sign, point, exponent).
fn number_after(line: &str, key: &str) -> Option<f64> {
    let rest = &line[line.find(key)? + key.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c) || c.is_ascii_alphabetic()))
        .unwrap_or(rest.len());
    // `nan` and `inf` are what a diverged run logs; they end a curve, not the parse.
    rest[..end].parse().ok()
}

/// The iteration a line names (`Iteration N` followed by `,` or ` (`).
fn iteration(line: &str) -> Option<f64> {
    let rest = &line[line.find("Iteration ")? + "Iteration ".len()..];
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

/// Parses a log's text into one run called `name`.
pub fn parse(name: &str, text: &str) -> Run {
    let mut run = Run::new(name);
    let mut test_iter = 0.0;
    let mut test_net = 0;
    for line in text.lines() {
        if let Some(iter) = iteration(line) {
            if line.contains("Testing net (#") {
                test_iter = iter;
                test_net = number_after(line, "Testing net (#").unwrap_or(0.0) as usize;
            } else if let Some(lr) = number_after(line, ", lr = ") {
                run.lr.push((iter, lr));
            } else if let Some(loss) = number_after(line, ", loss = ") {
                run.train_loss.push((iter, loss));
            }
        } else if let Some(pos) = line.find("Test net output #") {
            let rest = &line[pos + "Test net output #".len()..];
            let Some((_, named)) = rest.split_once(": ") else {
                continue;
            };
            let Some((output, _)) = named.split_once(" = ") else {
                continue;
            };
            if let Some(value) = number_after(named, " = ") {
                run.add_test(test_net, output, test_iter, value);
            }
        }
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines as Caffe 1.0 writes them (LeNet, one test net), with other lines between.
    const CAFFE_LOG: &str = "\
I1128 04:13:19.123456  1234 solver.cpp:330] Iteration 0, Testing net (#0)
I1128 04:13:19.523456  1234 solver.cpp:397]     Test net output #0: accuracy = 0.0857
I1128 04:13:19.523499  1234 solver.cpp:397]     Test net output #1: loss = 2.31254 (* 1 = 2.31254 loss)
I1128 04:13:19.600000  1234 solver.cpp:218] Iteration 0 (-1.4e-44 iter/s, 0.4s/100 iters), loss = 2.29836
I1128 04:13:19.600010  1234 solver.cpp:237]     Train net output #0: loss = 2.29836 (* 1 = 2.29836 loss)
I1128 04:13:19.600020  1234 sgd_solver.cpp:105] Iteration 0, lr = 0.01
I1128 04:13:21.000000  1234 solver.cpp:218] Iteration 100 (71.4 iter/s, 1.4s/100 iters), loss = 0.205011
I1128 04:13:21.000020  1234 sgd_solver.cpp:105] Iteration 100, lr = 0.00992565
I1128 04:13:22.000000  1234 solver.cpp:447] Snapshotting to binary proto file lenet_iter_200.caffemodel
I1128 04:13:22.100000  1234 solver.cpp:330] Iteration 200, Testing net (#0)
I1128 04:13:22.500000  1234 solver.cpp:397]     Test net output #0: accuracy = 0.9718
I1128 04:13:22.500010  1234 solver.cpp:397]     Test net output #1: loss = 0.0874 (* 1 = 0.0874 loss)
I1128 04:13:22.600000  1234 solver.cpp:310] Iteration 200, loss = 0.0779
";

    #[test]
    fn reads_caffe_lines() {
        let run = parse("lenet", CAFFE_LOG);
        assert_eq!(run.name, "lenet");
        assert_eq!(
            run.train_loss,
            vec![(0.0, 2.29836), (100.0, 0.205011), (200.0, 0.0779)]
        );
        assert_eq!(run.lr, vec![(0.0, 0.01), (100.0, 0.00992565)]);
        assert_eq!(
            run.test,
            vec![
                (
                    "test accuracy".to_string(),
                    vec![(0.0, 0.0857), (200.0, 0.9718)]
                ),
                (
                    "test loss".to_string(),
                    vec![(0.0, 2.31254), (200.0, 0.0874)]
                ),
            ]
        );
    }

    #[test]
    fn second_test_net_is_named_apart() {
        let run = parse(
            "r",
            "Iteration 50, Testing net (#1)\n    Test net output #0: accuracy = 0.5\n",
        );
        assert_eq!(
            run.test,
            vec![("test accuracy (#1)".to_string(), vec![(50.0, 0.5)])]
        );
    }

    #[test]
    fn diverged_values_and_noise_are_kept_or_skipped() {
        let run = parse(
            "r",
            "Iteration 10, loss = nan\nIteration 20, loss = 1e-3\nnot a log line\nTest net output #0 malformed\n",
        );
        assert_eq!(run.train_loss.len(), 2);
        assert!(run.train_loss[0].1.is_nan());
        assert_eq!(run.train_loss[1], (20.0, 1e-3));
        assert!(run.test.is_empty());
    }

    #[test]
    fn an_unrelated_file_gives_an_empty_run() {
        assert!(parse("x", "hello\nworld\n").is_empty());
    }
}
