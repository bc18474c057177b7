//! A LevelDB of Datums, as Caffe's convert tools wrote with `--backend leveldb`
//! (written here with rusty-leveldb, the crate caffers reads it with), used
//! through the real commands: `compute-mean --backend leveldb` and `forward` on a
//! net whose Data layer says `backend: LEVELDB` (Caffe's default backend).

use std::path::PathBuf;
use std::process::Command;

use caffers::data::feed::datum::Datum;

fn caffers(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_caffers"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "caffers {args:?} failed:\n{text}");
    text
}

#[test]
fn a_leveldb_feeds_compute_mean_and_the_data_layer() {
    let dir: PathBuf = std::env::temp_dir().join(format!("caffers-leveldb-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // Record i: a 1×2×2 image of value 10·i, label i % 3.
    {
        let options = rusty_leveldb::Options {
            create_if_missing: true,
            ..Default::default()
        };
        let mut db = rusty_leveldb::DB::open(dir.join("train_leveldb"), options).unwrap();
        for i in 0..6u8 {
            let datum = Datum::raw(1, 2, 2, vec![10 * i; 4], (i % 3) as i32);
            db.put(format!("{i:08}").as_bytes(), &datum.to_bytes())
                .unwrap();
        }
        db.flush().unwrap();
        db.close().unwrap();
    }

    caffers(
        &dir,
        &[
            "compute-mean",
            "train_leveldb",
            "mean.binaryproto",
            "--backend",
            "leveldb",
        ],
    );
    let mean = caffers::data::feed::mean_file::read(&dir.join("mean.binaryproto")).unwrap();
    assert_eq!(mean.data, vec![25.0; 4], "the mean of 0, 10, …, 50");

    std::fs::write(
        dir.join("net.prototxt"),
        r#"layer { name: "d" type: "Data" top: "data" top: "label"
                   data_param { source: "train_leveldb" batch_size: 4 backend: LEVELDB } }"#,
    )
    .unwrap();
    caffers(
        &dir,
        &["forward", "--model", "net.prototxt", "--dump", "out.npz"],
    );
    let arrays = caffers::io::npy::read_npz(&dir.join("out.npz")).unwrap();
    assert_eq!(arrays["data.label"].data, vec![0.0, 1.0, 2.0, 0.0]);
    assert_eq!(arrays["data.data"].data[4..8], [10.0; 4]);
    std::fs::remove_dir_all(&dir).unwrap();
}
