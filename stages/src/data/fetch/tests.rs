use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::Mutex;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::*;
use pipe_kind::Kind as _;
use pipe_kind::ProgressSink;

/// How the test server answers one path.
#[derive(Clone)]
enum Route {
    /// The bytes, honouring `Range: bytes=N-`.
    File(Vec<u8>),
    /// Like `File`, but the first request gets only the first half of the body before the connection
    /// is closed.
    CutOnce(Vec<u8>),
    /// The first request gets this status, later ones the bytes.
    FailOnce(u16, Vec<u8>),
    /// Always this status.
    Status(u16),
}

/// Path and `Range` start of every request, in arrival order.
type RequestLog = Mutex<Vec<(String, Option<String>)>>;

/// A minimal HTTP/1.1 server on 127.0.0.1 that records every request's path and Range header.
struct Server {
    addr: SocketAddr,
    log: Arc<RequestLog>,
}

impl Server {
    fn start(routes: Vec<(&str, Route)>) -> Self {
        let routes: HashMap<String, Route> = routes
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let server_log = log.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                let routes = Arc::new(routes);
                while let Ok((socket, _)) = listener.accept().await {
                    let (routes, log) = (routes.clone(), server_log.clone());
                    tokio::spawn(async move { serve(socket, &routes, &log).await });
                }
            });
        });
        Self {
            addr: rx.recv().unwrap(),
            log,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self, path: &str) -> Vec<Option<String>> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, r)| r.clone())
            .collect()
    }
}

async fn serve(
    mut socket: tokio::net::TcpStream,
    routes: &HashMap<String, Route>,
    log: &RequestLog,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if socket.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let range = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("range: bytes=")
            .map(|r| r.trim_end_matches('-').to_string())
    });
    let seen = {
        let mut log = log.lock().unwrap();
        log.push((path.clone(), range.clone()));
        log.iter().filter(|(p, _)| *p == path).count()
    };
    let (status, body, cut) = match routes.get(&path) {
        None => (404, Vec::new(), false),
        Some(Route::Status(s)) => (*s, Vec::new(), false),
        Some(Route::FailOnce(s, _)) if seen == 1 => (*s, Vec::new(), false),
        Some(Route::File(b) | Route::FailOnce(_, b)) => (200, b.clone(), false),
        Some(Route::CutOnce(b)) => (200, b.clone(), seen == 1),
    };
    let start: usize = range
        .as_deref()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
        .min(body.len());
    let (status, mut response) = if status == 200 && start > 0 {
        let header = format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
            body.len() - start,
            body.len() - 1,
            body.len()
        );
        (206, header.into_bytes())
    } else {
        let header = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        (status, header.into_bytes())
    };
    if status == 200 || status == 206 {
        let end = if cut { body.len() / 2 } else { body.len() };
        response.extend_from_slice(&body[start..end]);
    }
    let _ = socket.write_all(&response).await;
    let _ = socket.flush().await;
}

fn data(n: usize, salt: u8) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8 ^ salt).collect()
}

fn row(url: &str, bytes: &[u8], name: &str, label: &str) -> String {
    format!(
        "{url},{},{},{name},{label}\n",
        blake3::hash(bytes).to_hex(),
        bytes.len()
    )
}

fn context(dir: &Path, manifest: &str, params: serde_json::Value) -> TaskContext {
    let path = dir.join("manifest.csv");
    let mut f = std::fs::File::create(&path).unwrap();
    write!(f, "url,digest,size,name,label\n{manifest}").unwrap();
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    TaskContext {
        task: "fetch".into(),
        params,
        inputs: BTreeMap::from([("manifest".into(), vec![path])]),
        outputs: BTreeMap::from([
            ("files".into(), out.join("files")),
            ("manifest".into(), out.join("chosen.csv")),
        ]),
        state_dir: dir.join("state"),
        devices: vec![],
        threads: 2,
        seed: 9,
        progress: ProgressSink::discard(),
    }
}

fn outputs_empty(dir: &Path) -> bool {
    !dir.join("out/files").exists() && !dir.join("out/chosen.csv").exists()
}

fn fast() -> serde_json::Value {
    serde_json::json!({"retries": 2, "backoff_ms": 10, "timeout_s": 5})
}

#[test]
fn cut_transfer_resumes_with_range_within_a_run_and_across_runs() {
    let (a, b) = (data(200_000, 1), data(150_000, 2));
    let server = Server::start(vec![
        ("/a.bin", Route::CutOnce(a.clone())),
        ("/b.bin", Route::File(b.clone())),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let manifest =
        row(&server.url("/a.bin"), &a, "", "x") + &row(&server.url("/b.bin"), &b, "bee", "y");
    Fetch.run(&context(dir.path(), &manifest, fast())).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("out/files/a.bin")).unwrap(),
        a
    );
    assert_eq!(std::fs::read(dir.path().join("out/files/bee")).unwrap(), b);
    assert_eq!(
        server.requests("/a.bin"),
        [None, Some("100000".to_string())]
    );
    let chosen = std::fs::read_to_string(dir.path().join("out/chosen.csv")).unwrap();
    assert!(
        chosen.starts_with("url,digest,size,name,label,path\n"),
        "{chosen}"
    );
    assert!(chosen.contains(",bee,y,files/bee\n"), "{chosen}");

    // An interrupted task (no retries) fails, publishes nothing, and the next run resumes.
    let server = Server::start(vec![("/a.bin", Route::CutOnce(a.clone()))]);
    let dir = tempfile::tempdir().unwrap();
    let manifest = row(&server.url("/a.bin"), &a, "", "x");
    let once = serde_json::json!({"retries": 0});
    let ctx = context(dir.path(), &manifest, once.clone());
    let err = format!("{:#}", Fetch.run(&ctx).unwrap_err());
    assert!(err.contains(&server.url("/a.bin")), "{err}");
    assert!(outputs_empty(dir.path()));
    assert_eq!(
        std::fs::metadata(dir.path().join("state/partial/a.bin.part"))
            .unwrap()
            .len(),
        100_000
    );
    Fetch.run(&ctx).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("out/files/a.bin")).unwrap(),
        a
    );
    assert_eq!(
        server.requests("/a.bin"),
        [None, Some("100000".to_string())]
    );
}

#[test]
fn server_errors_are_retried() {
    let a = data(1000, 3);
    let server = Server::start(vec![("/a", Route::FailOnce(503, a.clone()))]);
    let dir = tempfile::tempdir().unwrap();
    fetch(
        &pipe_kind::parse_params(&fast()).unwrap(),
        &context(dir.path(), &row(&server.url("/a"), &a, "a", "x"), fast()),
    )
    .unwrap();
    assert_eq!(server.requests("/a").len(), 2);
    assert_eq!(std::fs::read(dir.path().join("out/files/a")).unwrap(), a);
}

#[test]
fn digest_mismatch_404_and_refused_connection_fail_clearly_and_leave_no_output() {
    let (good, bad) = (data(5000, 4), data(5000, 5));
    let server = Server::start(vec![
        ("/good", Route::File(good.clone())),
        ("/bad", Route::File(bad.clone())),
        ("/gone", Route::Status(404)),
    ]);
    let refused = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/x", l.local_addr().unwrap())
    };
    let cases = [
        (
            row(&server.url("/bad"), &good, "bad", "x"),
            "digest mismatch: expected blake3:",
        ),
        (row(&server.url("/gone"), &good, "gone", "x"), "HTTP 404"),
        (row(&refused, &good, "x", "x"), "request failed"),
    ];
    for (bad_row, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        let manifest = row(&server.url("/good"), &good, "good", "x") + &bad_row;
        let err = format!(
            "{:#}",
            Fetch
                .run(&context(dir.path(), &manifest, fast()))
                .unwrap_err()
        );
        let url = bad_row.split(',').next().unwrap();
        assert!(err.contains(url) && err.contains(want), "{err}");
        assert!(err.contains("1 of 2 downloads failed"), "{err}");
        assert!(outputs_empty(dir.path()), "{want}: outputs were written");
    }
    // Neither a 404 nor a digest mismatch is retried; the refused connection is (retries: 2).
    assert_eq!(server.requests("/gone").len(), 1);
    assert_eq!(server.requests("/bad").len(), 1);
}

#[test]
fn file_urls_and_sha256_digests_work() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = data(3000, 6);
    let src = dir.path().join("src.dat");
    std::fs::write(&src, &bytes).unwrap();
    let sha: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let manifest = format!("file://{},sha256:{sha},{},,x\n", src.display(), bytes.len());
    fetch(
        &FetchParams::default(),
        &context(dir.path(), &manifest, serde_json::json!({})),
    )
    .unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("out/files/src.dat")).unwrap(),
        bytes
    );

    let dir2 = tempfile::tempdir().unwrap();
    let manifest = format!(
        "file://{},sha256:{sha},{},,x\n",
        src.display(),
        bytes.len() + 1
    );
    let ctx = context(dir2.path(), &manifest, serde_json::json!({}));
    let err = format!("{:#}", Fetch.run(&ctx).unwrap_err());
    assert!(
        err.contains("has 3000 bytes, the manifest says 3001"),
        "{err}"
    );
    assert!(outputs_empty(dir2.path()));
}

#[test]
fn subset_is_stratified_and_seeded() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("url,digest,size,name,label\n");
    for i in 0..100 {
        let label = if i < 70 {
            "a"
        } else if i < 90 {
            "b"
        } else {
            "c"
        };
        text.push_str(&format!("http://h/{i},{},1,,{label}\n", "0".repeat(64)));
    }
    let path = dir.path().join("m.csv");
    std::fs::write(&path, text).unwrap();
    let m = Manifest::read(&path).unwrap();
    let subset = |n, stratify_by| Subset {
        n,
        stratify_by,
        group_by: None,
    };
    let by_label = subset(Some(10), Some("label"));
    let pick = choose(&m, by_label, 1).unwrap();
    let count = |l: &str| {
        pick.iter()
            .filter(|&&i| m.entries[i].fields[4] == l)
            .count()
    };
    assert_eq!((count("a"), count("b"), count("c")), (7, 2, 1));
    assert_eq!(pick, choose(&m, by_label, 1).unwrap());
    assert_ne!(pick, choose(&m, by_label, 2).unwrap());
    assert!(pick.windows(2).all(|w| w[0] < w[1]), "manifest order");
    assert_eq!(choose(&m, subset(None, None), 1).unwrap().len(), 100);
    assert_eq!(choose(&m, subset(Some(7), None), 1).unwrap().len(), 7);
    let err = choose(&m, subset(Some(7), Some("stratum")), 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("params.stratify_by") && err.contains("no column 'stratum'"),
        "{err}"
    );
}

#[test]
fn manifest_errors_name_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.csv");
    std::fs::write(&path, "url,size\nhttp://h/a,1\n").unwrap();
    let err = Manifest::read(&path).unwrap_err().to_string();
    assert!(err.contains("column 'digest' is missing"), "{err}");
    std::fs::write(
        &path,
        format!(
            "url,digest,size\nhttp://h/a,{},1\nhttp://h/b,abc,1\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let err = format!("{:#}", Manifest::read(&path).unwrap_err());
    assert!(err.contains("line 3, column 'digest'"), "{err}");
    std::fs::write(
        &path,
        format!(
            "url,digest,size\nhttp://h/a,{0},1\nhttp://x/a,{0},1\n",
            "0".repeat(64)
        ),
    )
    .unwrap();
    let err = Manifest::read(&path).unwrap_err().to_string();
    assert!(err.contains("lines 2 and 3 both download to 'a'"), "{err}");
    assert_eq!(safe_name("../etc/pass wd").as_deref(), Some("_etc_pass_wd"));
    assert_eq!(safe_name(".."), None);
}

#[test]
fn missing_digests_are_recorded_on_first_download_and_checked_after() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (data(500, 1), data(700, 2));
    let (src_a, src_b) = (dir.path().join("a.dat"), dir.path().join("b.dat"));
    std::fs::write(&src_a, &a).unwrap();
    std::fs::write(&src_b, &b).unwrap();
    let manifest = format!(
        "file://{},,{},,x\n{}",
        src_a.display(),
        a.len(),
        row(&format!("file://{}", src_b.display()), &b, "", "y")
    );
    let run = |sub: &str| {
        let work = dir.path().join(sub);
        std::fs::create_dir_all(&work).unwrap();
        let ctx = context(&work, &manifest, serde_json::json!({}));
        let ledger = ledger::Ledger::beside(ctx.input("manifest").unwrap());
        if sub != "first" {
            std::fs::copy(dir.path().join("first/manifest.csv.digests.tsv"), &ledger).unwrap();
        }
        (fetch(&FetchParams::default(), &ctx), work, ledger)
    };
    let (v, work, ledger) = run("first");
    let expect = Verified {
        by_manifest: 1,
        by_record: 0,
        recorded: 1,
    };
    assert_eq!(v.unwrap(), expect);
    let want = format!("blake3:{}", blake3::hash(&a).to_hex());
    let text = std::fs::read_to_string(&ledger).unwrap();
    assert_eq!(
        text,
        format!(
            "url\tsize\tdigest\nfile://{}\t500\t{want}\n",
            src_a.display()
        )
    );
    let chosen = std::fs::read_to_string(work.join("out/chosen.csv")).unwrap();
    assert!(chosen.contains(&format!(",{want},500,")), "{chosen}");

    // A later download (after gc, or another task with the same manifest) checks the record.
    let (v, _, _) = run("again");
    let expect = Verified {
        by_manifest: 1,
        by_record: 1,
        recorded: 0,
    };
    assert_eq!(v.unwrap(), expect);

    // Same size, other bytes: a clear error naming the file and both digests, and no output.
    let changed = data(500, 9);
    std::fs::write(&src_a, &changed).unwrap();
    let (v, work, ledger) = run("changed");
    let err = format!("{:#}", v.unwrap_err());
    let now = format!("blake3:{}", blake3::hash(&changed).to_hex());
    assert!(
        err.contains("'a.dat' changed since its first download")
            && err.contains(&want)
            && err.contains(&now)
            && err.contains(&ledger.display().to_string()),
        "{err}"
    );
    assert!(outputs_empty(&work));
}

#[test]
fn a_bad_ledger_line_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.csv.digests.tsv");
    std::fs::write(&path, "url\tsize\tdigest\nhttp://h/a\t12\n").unwrap();
    let err = format!("{:#}", ledger::Ledger::read(&path).unwrap_err());
    assert!(
        err.contains("m.csv.digests.tsv: line 2") && err.contains("3 tab-separated fields"),
        "{err}"
    );
    assert!(ledger::Ledger::read(&dir.path().join("none.tsv"))
        .unwrap()
        .get("http://h/a")
        .is_none());
}

#[test]
fn group_by_downloads_whole_units_and_counts_them_once() {
    let dir = tempfile::tempdir().unwrap();
    // 10 examples of 3 per-channel files each; examples 0-5 label 0, 6-9 label 1.
    let mut text = String::from("url,digest,size,example,channel,label\n");
    for e in 0..10 {
        for ch in 1..=3 {
            let label = usize::from(e >= 6);
            text.push_str(&format!(
                "http://h/{e}_ch{ch}.png,,1,ex{e},img_ch{ch},{label}\n"
            ));
        }
    }
    let path = dir.path().join("m.csv");
    std::fs::write(&path, &text).unwrap();
    let m = Manifest::read(&path).unwrap();
    let subset = Subset {
        n: Some(5),
        stratify_by: Some("label"),
        group_by: Some("example"),
    };
    let pick = choose(&m, subset, 3).unwrap();
    let examples: BTreeMap<&str, usize> = pick.iter().fold(BTreeMap::new(), |mut acc, &i| {
        *acc.entry(m.entries[i].fields[3].as_str()).or_default() += 1;
        acc
    });
    assert_eq!(examples.len(), 5, "{examples:?}");
    assert!(examples.values().all(|&files| files == 3), "{examples:?}");
    let label_1 = examples
        .keys()
        .filter(|e| e[2..].parse::<usize>().unwrap() >= 6)
        .count();
    assert_eq!(label_1, 2, "6:4 over 5 examples keeps 3 and 2");
    assert_eq!(pick, choose(&m, subset, 3).unwrap());

    // A unit whose rows disagree on the stratum is an error naming both lines.
    std::fs::write(&path, text.replacen("ex0,img_ch2,0", "ex0,img_ch2,1", 1)).unwrap();
    let m = Manifest::read(&path).unwrap();
    let err = choose(&m, subset, 3).unwrap_err().to_string();
    assert!(
        err.contains("lines 2 and 3") && err.contains("column 'label'"),
        "{err}"
    );
    let err = choose(
        &m,
        Subset {
            group_by: Some("sample"),
            ..subset
        },
        3,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("params.group_by") && err.contains("no column 'sample'"),
        "{err}"
    );
}
