use super::*;
use crate::spec::Pipeline;

fn plan_text(text: &str, options: &PlanOptions) -> Result<Plan, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::write(dir.path().join("in.txt"), "data").unwrap();
    let pipeline = Pipeline::parse(text, &path).map_err(|e| e.to_string())?;
    let mut memo = DigestMemo::default();
    plan(pipeline, options, &mut memo).map_err(|e| e.to_string())
}

const STUDY: &str = r#"
name: study
vars: { archs: [a, b], folds: 3, lr: { a: 0.1, b: 0.2 } }
stages:
  data: { cmd: [cp, "${inputs.src}", "${outputs.out}"], inputs: { src: { file: in.txt } }, outputs: { out: data.txt } }
  train:
    cmd: [echo, "${params.lr}"]
    matrix: { arch: "${archs}", fold: "range(${folds})" }
    params: { lr: "${lr.${arch}}" }
    inputs: { data: data.out }
    outputs: { metrics: m.csv }
  agg: { cmd: [cat], inputs: { runs: "train[*].metrics", a: "train[arch=a].metrics" }, outputs: { table: t.csv } }
"#;

#[test]
fn matrix_expands_and_fans_in() {
    let p = plan_text(STUDY, &PlanOptions::default()).unwrap();
    assert_eq!(p.tasks.len(), 8);
    let agg = &p.tasks[p.find("agg").unwrap()];
    assert_eq!(agg.inputs["runs"].len(), 6);
    assert_eq!(agg.inputs["a"].len(), 3);
    let t = &p.tasks[p.find("train[arch=b,fold=2]").unwrap()];
    assert_eq!(t.params()["lr"], serde_json::json!(0.2));
    assert_eq!(t.params()["fold"], serde_json::json!(2));
    // topological order: every input comes first
    for (i, t) in p.tasks.iter().enumerate() {
        for d in p.dependencies(i) {
            assert!(d < i, "{} before {}", p.tasks[d].id, t.id);
        }
    }
    assert_eq!(p.priority[p.find("data").unwrap()], 3);
}

#[test]
fn axes_pick_the_matching_instance_and_can_stay_out_of_the_params() {
    let text = format!(
        "{STUDY}  eval:\n    cmd: [cat]\n    matrix: {{ arch: \"${{archs}}\", fold: \"range(${{folds}})\" }}\n    \
         axis_params: false\n    params: {{ t: 1 }}\n    \
         inputs: {{ m: \"train[arch=${{arch}},fold=${{fold}}].metrics\" }}\n    outputs: {{ o: o }}\n"
    );
    let p = plan_text(&text, &PlanOptions::default()).unwrap();
    let eval = &p.tasks[p.find("eval[arch=b,fold=1]").unwrap()];
    assert_eq!(eval.params(), serde_json::json!({ "t": 1 }));
    let upstream = p.dependencies(p.find("eval[arch=b,fold=1]").unwrap());
    assert_eq!(upstream.len(), 1);
    assert_eq!(p.tasks[upstream[0]].id, "train[arch=b,fold=1]");
}

#[test]
fn changing_one_lr_changes_exactly_that_arch_and_downstream() {
    let a = plan_text(STUDY, &PlanOptions::default()).unwrap();
    let opts = PlanOptions {
        profile: None,
        sets: vec![("lr.b".into(), serde_json::json!(0.3))],
        ..PlanOptions::default()
    };
    let b = plan_text(STUDY, &opts).unwrap();
    let changed: Vec<&str> = a
        .tasks
        .iter()
        .zip(&b.tasks)
        .filter(|(x, y)| x.key != y.key)
        .map(|(x, _)| x.id.as_str())
        .collect();
    assert_eq!(
        changed,
        [
            "train[arch=b,fold=0]",
            "train[arch=b,fold=1]",
            "train[arch=b,fold=2]",
            "agg"
        ]
    );
}

#[test]
fn keys_do_not_depend_on_paths() {
    let a = plan_text(STUDY, &PlanOptions::default()).unwrap();
    let b = plan_text(STUDY, &PlanOptions::default()).unwrap();
    let keys = |p: &Plan| p.tasks.iter().map(|t| t.key.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&a), keys(&b), "two temp dirs, same keys");
}

fn err(text: &str) -> String {
    plan_text(text, &PlanOptions::default()).unwrap_err()
}

#[test]
fn clear_errors() {
    let e = err("name: x\nstages:\n  a: { kind: simulat }\n");
    assert!(e.contains("unknown stage kind 'simulat'"), "{e}");
    let e = err("name: x\nstages:\n  a: { cmd: [x], inputs: { i: dta.out } }\n  data: { cmd: [y], outputs: { out: o } }\n");
    assert!(e.contains("no stage 'dta' (did you mean 'data'?)"), "{e}");
    let e = err("name: x\nstages:\n  a: { cmd: [x], inputs: { i: data.ot } }\n  data: { cmd: [y], outputs: { out: o } }\n");
    assert!(
        e.contains("has no output 'ot' (did you mean 'out'?)"),
        "{e}"
    );
    let e = err("name: x\nstages:\n  a: { cmd: [x], matrix: { k: [] } }\n");
    assert!(e.contains("axis 'k' is empty"), "{e}");
    let e = err("name: x\nstages:\n  a: { cmd: [x], inputs: { i: { file: nope.txt } } }\n");
    assert!(e.contains("nope.txt does not exist"), "{e}");
    let e = err("name: x\nstages:\n  a: { cmd: [x], matrix: { k: [1, 2] }, outputs: { o: o } }\n  b: { cmd: [y], inputs: { i: a.o } }\n");
    assert!(e.contains("has 2 instances"), "{e}");
    let e = err("name: x\nvars: { n: 1 }\nstages:\n  a: { cmd: [\"${nn}\"] }\n");
    assert!(
        e.contains("unknown variable 'nn' (did you mean 'n'?)"),
        "{e}"
    );
    let e = err("name: x\nstages:\n  a: { cmd: [echo, \"a\\0b\"] }\n");
    assert!(
        e.contains("stage 'a'") && e.contains("holds a NUL byte"),
        "{e}"
    );
}

#[test]
fn cycle_is_printed() {
    let e = err(
        "name: x\nstages:\n  a: { cmd: [x], inputs: { i: c.o }, outputs: { o: o } }\n  b: { cmd: [x], inputs: { i: a.o }, outputs: { o: o } }\n  c: { cmd: [x], inputs: { i: b.o }, outputs: { o: o } }\n",
    );
    assert!(e.contains("cycle"), "{e}");
    for s in ["a", "b", "c"] {
        assert!(e.contains(s), "{e}");
    }
    assert!(e.contains(" -> "), "{e}");
}

#[test]
fn profile_overrides_vars() {
    let text = "name: x\nvars: { n: 3 }\nprofiles: { quick: { vars: { n: 1 } } }\nstages:\n  a: { cmd: [x], matrix: { i: \"range(${n})\" } }\n";
    let opts = PlanOptions {
        profile: Some("quick".into()),
        sets: vec![],
        ..PlanOptions::default()
    };
    assert_eq!(plan_text(text, &opts).unwrap().tasks.len(), 1);
    let opts = PlanOptions {
        profile: Some("quik".into()),
        sets: vec![],
        ..PlanOptions::default()
    };
    let e = plan_text(text, &opts).unwrap_err();
    assert!(e.contains("did you mean 'quick'"), "{e}");
}

#[test]
fn matrix_over_the_limit_is_refused_before_it_is_made() {
    // 10^10 tasks: refused from the axes' sizes alone, without making a value of either.
    let text = "name: x\nstages:\n  a: { cmd: [x], matrix: { i: \"range(100000)\", j: \"range(100000)\" } }\n";
    let e = plan_text(text, &PlanOptions::default()).unwrap_err();
    assert!(e.contains("stage 'a': matrix: the matrix (i: 100000 x j: 100000) would make 10000000000 tasks, over the limit of 1000000"), "{e}");
    assert!(e.contains("--max-tasks"), "{e}");
    let text = "name: x\nstages:\n  a: { cmd: [x], matrix: { i: \"range(3)\" } }\n  b: { cmd: [x], matrix: { i: [1, 2] } }\n";
    let opts = PlanOptions {
        max_tasks: 4,
        ..PlanOptions::default()
    };
    let e = plan_text(text, &opts).unwrap_err();
    assert!(e.contains("stage 'b'"), "{e}");
    assert!(
        e.contains("would make 2 tasks, 5 with the 3 of the stages before it, over the limit of 4"),
        "{e}"
    );
    let opts = PlanOptions {
        max_tasks: 5,
        ..PlanOptions::default()
    };
    assert_eq!(plan_text(text, &opts).unwrap().tasks.len(), 5);
}

#[test]
fn dag_formats_render_every_task() {
    let p = plan_text(STUDY, &PlanOptions::default()).unwrap();
    for f in [DagFormat::Text, DagFormat::Dot, DagFormat::Mermaid] {
        let out = render_dag(&p, f);
        assert!(out.contains("train[arch=a,fold=0]"), "{out}");
    }
    assert!(render_dag(&p, DagFormat::Dot).contains("->"));
}

#[test]
fn when_switches_stages_off() {
    let text = "name: x\nvars: { source: sim }\nstages:\n  sim: { cmd: [a], when: \"${source} == sim\", outputs: { o: o } }\n  tf: { cmd: [b], when: \"${source} == tf\", outputs: { o: o } }\n  use: { cmd: [c], inputs: { i: \"${source}.o\" } }\n";
    let p = plan_text(text, &PlanOptions::default()).unwrap();
    let ids: Vec<&str> = p.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["sim", "use"]);
    let opts = PlanOptions {
        profile: None,
        sets: vec![("source".into(), serde_json::json!("tf"))],
        ..PlanOptions::default()
    };
    let p = plan_text(text, &opts).unwrap();
    let ids: Vec<&str> = p.tasks.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(ids, ["tf", "use"]);
    let bad = "name: x\nstages:\n  a: { cmd: [a], when: false, outputs: { o: o } }\n  b: { cmd: [b], inputs: { i: a.o } }\n";
    let e = plan_text(bad, &PlanOptions::default()).unwrap_err();
    assert!(e.contains("switched off"), "{e}");
}

#[test]
fn errors_name_the_file_and_keep_their_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.yaml");
    std::fs::create_dir(dir.path().join("d")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("d/link")).unwrap();
    let error = |text: &str| {
        let pipeline = Pipeline::parse(text, &path).unwrap();
        let e = plan(
            pipeline,
            &PlanOptions::default(),
            &mut DigestMemo::default(),
        )
        .unwrap_err();
        assert!(matches!(e, PlanError::InFile { .. }), "{e:?}");
        crate::error::PipeError::from(e)
    };
    let e = error("name: x\nstages:\n  a: { cmd: [x], matrix: { k: [] } }\n");
    assert_eq!(e.exit_code(), 2);
    assert_eq!(
        e.message,
        format!(
            "{}: stage 'a': matrix: axis 'k' is empty; give it at least one value",
            path.display()
        )
    );
    // A directory input with a dangling link cannot be digested: an environment error.
    let e = error("name: x\nstages:\n  a: { cmd: [x], inputs: { i: { file: d } } }\n");
    assert_eq!(e.exit_code(), 3);
    let start = format!("{}: stage 'a': cannot read ", path.display());
    assert!(e.message.starts_with(&start), "{}", e.message);
}

/// Keys name cached entries: a change of their encoding would re-run every user's cached tasks, so
/// it must come with a `FORMAT_VERSION` bump. These are the keys the encoding gave when it was last
/// changed on purpose.
#[test]
fn keys_and_their_components_are_stable() {
    let p = plan_text(STUDY, &PlanOptions::default()).unwrap();
    let expected = serde_json::json!({
        "cmd": ["cp", "${inputs.src}", "${outputs.out}"],
        "format": FORMAT_VERSION,
        "inputs": { "src": [format!("file:{}", blake3::hash(b"data").to_hex())] },
        "kind": "cmd",
        "outputs": { "out": "data.txt" },
        "params": {},
        "seed": 0,
    });
    // Written again on demand, they are the JSON the key hashes.
    let data = p.find("data").unwrap();
    assert_eq!(p.components_json(data), key::canonical_json(&expected));
    assert_eq!(p.tasks[data].key, key::key_of(&expected));
    let keys: Vec<(&str, &str)> = p
        .tasks
        .iter()
        .map(|t| (t.id.as_str(), &t.key[..16]))
        .collect();
    assert_eq!(
        keys,
        [
            ("data", "ac248601b12d2b85"),
            ("train[arch=a,fold=0]", "50196a8b57fe2ccb"),
            ("train[arch=a,fold=1]", "badea453f80bf992"),
            ("train[arch=a,fold=2]", "3989fbfad57768df"),
            ("train[arch=b,fold=0]", "25f5c706a28be723"),
            ("train[arch=b,fold=1]", "fb0f59fbece3ba39"),
            ("train[arch=b,fold=2]", "ea37f63ce538b4d0"),
            ("agg", "384bd73863ac84c2"),
        ]
    );
}

#[test]
fn permuting_in_place_follows_the_order() {
    for order in [
        vec![0, 1, 2, 3, 4],
        vec![4, 3, 2, 1, 0],
        vec![1, 2, 0, 4, 3],
        vec![2, 0, 1, 3, 4],
    ] {
        let mut items: Vec<char> = "abcde".chars().collect();
        permute_in_place(&mut items, &order);
        let expected: Vec<char> = order.iter().map(|&i| b"abcde"[i] as char).collect();
        assert_eq!(items, expected, "order {order:?}");
    }
}
