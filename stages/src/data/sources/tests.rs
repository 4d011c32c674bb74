//! Tests of the two source kinds against files written independently by
//! `stages/tests/write_tfrecords.py` (TFRecords by the `tfrecord` package and Google's protobuf
//! runtime, PNGs by Pillow).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;

use super::*;
use crate::data::examples::ExamplesFile;
use pipe_kind::{Kind, ProgressSink};

const N: usize = 5;
const IMAGE_LEN: usize = 100 * 221 * 7;

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/write_tfrecords.py")
}

/// The Python interpreter from `$PIPE_PYTHON`, or `None` (the test reported as skipped) when it is
/// unset.
fn python() -> Option<String> {
    match std::env::var("PIPE_PYTHON") {
        Ok(p) if !p.is_empty() => Some(p),
        _ => {
            pipe_testkit::skip(
                "PIPE_PYTHON is not set (needs a Python with numpy, Pillow and tfrecord)",
            );
            None
        }
    }
}

/// Runs the independent writer into `dir`; `None` (the test reported as skipped) when numpy, Pillow or
/// tfrecord is missing.
fn write_fixtures(python: &str, dir: &Path) -> Option<()> {
    let probe = Command::new(python)
        .args(["-c", "import numpy, PIL, tfrecord"])
        .output()
        .expect("PIPE_PYTHON cannot be started");
    if !probe.status.success() {
        pipe_testkit::skip(&format!(
            "{python} lacks numpy, Pillow or tfrecord (pip install -r scripts/requirements.txt)"
        ));
        return None;
    }
    let out = Command::new(python)
        .arg(script())
        .args(["write", dir.to_str().unwrap(), "--n", &N.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "write_tfrecords.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(())
}

fn context(
    dir: &Path,
    params: serde_json::Value,
    inputs: &[(&str, Vec<PathBuf>)],
) -> (TaskContext, PathBuf) {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let out = dir.join(format!("out-{}", RUNS.fetch_add(1, Ordering::Relaxed)));
    std::fs::create_dir_all(&out).unwrap();
    let path = out.join("examples.parquet");
    let ctx = TaskContext {
        task: "test".into(),
        params,
        inputs: inputs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
        outputs: BTreeMap::from([("examples".to_string(), path.clone())]),
        state_dir: out.join("state"),
        devices: vec![],
        threads: 2,
        seed: 1,
        progress: ProgressSink::discard(),
    };
    (ctx, path)
}

fn run(
    kind: &dyn Kind,
    dir: &Path,
    params: serde_json::Value,
    inputs: &[(&str, Vec<PathBuf>)],
) -> anyhow::Result<ExamplesFile> {
    kind.check(&params)?;
    let (ctx, path) = context(dir, params, inputs);
    kind.run(&ctx)?;
    ExamplesFile::open(&path)
}

#[derive(serde::Deserialize)]
struct Meta {
    id: String,
    chrom: String,
    pos: i64,
    #[serde(rename = "ref")]
    ref_allele: String,
    alt: String,
    label: Option<i8>,
    png_id: String,
}

#[test]
fn sources_tfrecord_gzip_plain_and_pngs_agree_with_the_originals() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(()) = write_fixtures(&python, dir) else {
        return;
    };
    let images = std::fs::read(dir.join("images.bin")).unwrap();
    let meta: Vec<Meta> =
        serde_json::from_slice(&std::fs::read(dir.join("meta.json")).unwrap()).unwrap();
    assert_eq!((images.len(), meta.len()), (N * IMAGE_LEN, N));

    let mut tables = Vec::new();
    for file in ["plain.tfrecord", "gzip.tfrecord.gz"] {
        let f = run(
            &FromTfrecord,
            dir,
            json!({}),
            &[("tfrecords", vec![dir.join(file)])],
        )
        .unwrap();
        assert_eq!(f.source, "tfrecord");
        assert_eq!(f.shape.channels, WGS_CHANNELS);
        let rows = f.read_all().unwrap();
        for (r, m) in rows.iter().zip(&meta) {
            assert_eq!(
                (
                    &r.id,
                    &r.chrom,
                    r.pos,
                    &r.ref_allele,
                    &r.alt,
                    r.sample.as_str()
                ),
                (&m.id, &m.chrom, m.pos, &m.ref_allele, &m.alt, "NA12878")
            );
        }
        tables.push(rows);
    }
    let f = run(
        &FromPngs,
        dir,
        json!({"root": ".."}),
        &[("csv", vec![dir.join("data/table.csv")])],
    )
    .unwrap();
    assert_eq!(f.source, "png");
    assert_eq!((f.shape.height, f.shape.width), (100, 221));
    let channels: Vec<String> = (1..=7).map(|c| format!("img_ch{c}")).collect();
    assert_eq!(f.shape.channels, channels);
    let rows = f.read_all().unwrap();
    for (r, m) in rows.iter().zip(&meta) {
        assert_eq!((&r.id, r.pos, r.chrom.as_str()), (&m.png_id, -1, ""));
    }
    tables.push(rows);

    for rows in &tables {
        assert_eq!(rows.len(), N);
        for (i, (r, m)) in rows.iter().zip(&meta).enumerate() {
            assert!(
                r.image == images[i * IMAGE_LEN..(i + 1) * IMAGE_LEN],
                "example {i}: image differs from the original"
            );
            assert_eq!(r.label, m.label, "example {i}");
        }
    }
    assert_eq!(meta[N - 1].label, None);
}

#[test]
fn sources_written_tfrecords_read_back_here_and_in_python() {
    let Some(python) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let Some(()) = write_fixtures(&python, dir) else {
        return;
    };
    let original = run(
        &FromTfrecord,
        dir,
        json!({}),
        &[("tfrecords", vec![dir.join("plain.tfrecord")])],
    )
    .unwrap();
    let shape = original.shape.clone();
    let rows = original.read_all().unwrap();
    for gzip in [true, false] {
        let path = dir.join(format!("pipe-{gzip}.tfrecord"));
        assert_eq!(
            write_examples_tfrecord(&path, &shape, &rows, gzip).unwrap(),
            N as u64
        );
        let check = Command::new(&python)
            .arg(script())
            .args(["check", path.to_str().unwrap(), dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "Python rejects pipe's TFRecord: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let back = run(
            &FromTfrecord,
            dir,
            json!({"sample": "unused"}),
            &[("tfrecords", vec![path])],
        )
        .unwrap();
        assert_eq!(back.read_all().unwrap(), rows);
    }
}

fn example(i: usize, label: Option<i8>) -> Example {
    Example {
        id: format!("chr1:{}:A>C", i + 1),
        sample: String::new(),
        chrom: "chr1".into(),
        pos: i as i64,
        ref_allele: "A".into(),
        alt: "C".into(),
        label,
        image: vec![i as u8; 2 * 3 * 2],
        site: None,
    }
}

fn small_shape() -> ImageShape {
    ImageShape {
        height: 2,
        width: 3,
        channels: vec!["read_base".into(), "insert_size".into()],
    }
}

#[test]
fn sources_tfrecord_directories_sidecars_and_repeated_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shards");
    std::fs::create_dir(&dir).unwrap();
    let shape = small_shape();
    let first = dir.join("ex.tfrecord-00000-of-00002.gz");
    write_examples_tfrecord(
        &first,
        &shape,
        &[example(0, Some(0)), example(1, None)],
        true,
    )
    .unwrap();
    let second = dir.join("ex.tfrecord-00001-of-00002.gz");
    write_examples_tfrecord(&second, &shape, &[example(0, Some(2))], true).unwrap();

    // Without a sidecar the default 7 WGS channels do not fit a 2-channel image.
    let err = format!(
        "{:#}",
        run(
            &FromTfrecord,
            tmp.path(),
            json!({}),
            &[("tfrecords", vec![dir.clone()])]
        )
        .err()
        .unwrap()
    );
    assert!(
        err.contains("ex.tfrecord-00000-of-00002.gz: record 0"),
        "{err}"
    );
    assert!(
        err.contains("image/shape [2, 3, 2] has 2 channels, but the default WGS channels names 7"),
        "{err}"
    );

    std::fs::write(
        sidecar(&first),
        r#"{"version": "1.6.1", "shape": [2, 3, 2], "channels": [1, 19]}"#,
    )
    .unwrap();
    let f = run(
        &FromTfrecord,
        tmp.path(),
        json!({"sample": "S1"}),
        &[("tfrecords", vec![dir.clone()])],
    )
    .unwrap();
    assert_eq!(f.shape, shape);
    let rows = f.read_all().unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["chr1:1:A>C", "chr1:2:A>C", "chr1:1:A>C#2"]);
    assert_eq!(
        rows.iter().map(|r| r.label).collect::<Vec<_>>(),
        [Some(0), None, Some(2)]
    );
    assert!(rows.iter().all(|r| r.sample == "S1"));

    let named = run(
        &FromTfrecord,
        tmp.path(),
        json!({"channels": ["a", "b"]}),
        &[("tfrecords", vec![first.clone()])],
    )
    .unwrap();
    assert_eq!(named.shape.channels, ["a", "b"]);

    std::fs::write(
        sidecar(&first),
        r#"{"shape": [2, 3, 2], "channels": [1, 99]}"#,
    )
    .unwrap();
    let err = format!(
        "{:#}",
        run(
            &FromTfrecord,
            tmp.path(),
            json!({}),
            &[("tfrecords", vec![first])]
        )
        .err()
        .unwrap()
    );
    assert!(
        err.contains("channel id 99 is not a DeepVariant channel"),
        "{err}"
    );
}

#[test]
fn sources_bad_tfrecords_name_file_and_record() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.tfrecord");
    let rows: Vec<_> = (0..3).map(|i| example(i, Some(1))).collect();
    write_examples_tfrecord(&path, &small_shape(), &rows, false).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let params = json!({"channels": ["a", "b"]});
    let err_for = |bytes: &[u8]| {
        std::fs::write(&path, bytes).unwrap();
        let inputs = [("tfrecords", vec![path.clone()])];
        format!(
            "{:#}",
            run(&FromTfrecord, tmp.path(), params.clone(), &inputs)
                .err()
                .unwrap()
        )
    };
    let len = bytes.len();
    let err = err_for(&bytes[..len - 3]);
    assert!(err.contains("x.tfrecord: record 2"), "{err}");
    assert!(err.contains("truncated"), "{err}");
    let last = len - 10;
    bytes[last] ^= 0x55;
    let err = err_for(&bytes);
    assert!(err.contains("x.tfrecord: record 2"), "{err}");
    assert!(err.contains("data checksum mismatch"), "{err}");
}

#[test]
fn sources_params_are_checked_at_plan_time() {
    let err = FromTfrecord
        .check(&json!({"channels": ["a", "a"]}))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("params.channels[1]: 'a' appears twice"),
        "{err}"
    );
    let err = FromTfrecord
        .check(&json!({"chanels": []}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `chanels`"), "{err}");
    let err = FromPngs
        .check(&json!({"unlabeled": true, "label_column": "class"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("params.unlabeled"), "{err}");
    assert!(FromPngs
        .check(&json!({"root": "/data", "channels": ["img_ch1"]}))
        .is_ok());
}

#[test]
fn sources_unique_ids_suffix_repeats() {
    let mut ids = UniqueIds::default();
    let got: Vec<String> = ["a", "a#2", "a", "b", "a"]
        .iter()
        .map(|s| ids.unique(s.to_string()))
        .collect();
    assert_eq!(got, ["a", "a#2", "a#3", "b", "a#4"]);
    assert_eq!(ids.renamed, 2);
}
