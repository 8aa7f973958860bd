//! The built `nflow` binary end to end: train, eval, sample, info and reload on generated files;
//! conditional models; every bad-input case with its exit code and message, and `--out` left
//! absent; and an 8-D Gaussian mixture on which the trained MAF beats a full-covariance Gaussian.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nflow::rand::rngs::StdRng;
use nflow::rand::{RngExt, SeedableRng};

fn nflow(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nflow"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the nflow binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: Output) -> Output {
    assert!(
        o.status.success(),
        "nflow failed ({:?}): {}",
        o.status,
        stderr(&o)
    );
    o
}

fn normal(rng: &mut StdRng) -> f64 {
    // Box-Muller.
    let u: f64 = rng.random::<f64>().max(1e-300);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn write_csv(path: &Path, header: Option<&[&str]>, rows: &[Vec<f64>]) {
    let mut text = String::new();
    if let Some(h) = header {
        text += &h.join(",");
        text += "\n";
    }
    for r in rows {
        text += &r
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(",");
        text += "\n";
    }
    std::fs::write(path, text).unwrap();
}

fn write_npy(path: &Path, rows: &[Vec<f64>]) {
    use npyz::WriterBuilder;
    let mut bytes = Vec::new();
    let mut w = npyz::WriteOptions::<f64>::new()
        .default_dtype()
        .shape(&[rows.len() as u64, rows[0].len() as u64])
        .writer(&mut bytes)
        .begin_nd()
        .unwrap();
    for r in rows {
        w.extend(r.iter().copied()).unwrap();
    }
    w.finish().unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Rows of a banana: x0 ~ N(0, 1), x1 ~ N(x0² / 2, 0.5²).
fn banana(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let a = normal(&mut rng);
            vec![a, 0.5 * a * a + 0.5 * normal(&mut rng)]
        })
        .collect()
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_str(&stdout(o)).expect("JSON on stdout")
}

const SMALL: &[&str] = &[
    "--steps",
    "300",
    "--layers",
    "2",
    "--hidden",
    "16,16",
    "--batch-size",
    "128",
    "--eval-every",
    "100",
    "--quiet",
];

#[test]
fn train_eval_sample_info_and_reload() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    write_csv(&dir.join("train.csv"), Some(&["x", "y"]), &banana(2000, 0));
    let test_rows = banana(500, 1);
    write_csv(&dir.join("test.csv"), Some(&["x", "y"]), &test_rows);
    write_npy(&dir.join("test.npy"), &test_rows);

    let mut args = vec!["train", "--data", "train.csv", "--out", "model"];
    args.extend_from_slice(SMALL);
    let trained = ok(nflow(&args, dir));
    assert!(
        stdout(&trained).contains("best validation NLL"),
        "{}",
        stdout(&trained)
    );
    for file in [
        "flow.json",
        "flow.bpk",
        "columns.json",
        "train_report.json",
        "metrics.jsonl",
    ] {
        assert!(dir.join("model").join(file).is_file(), "{file} missing");
    }
    let metrics = std::fs::read_to_string(dir.join("model/metrics.jsonl")).unwrap();
    assert_eq!(
        metrics.lines().count(),
        3,
        "one line per evaluation (steps 100, 200, 300)"
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("model/train_report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["data"]["train_rows"], 1800);
    assert_eq!(report["data"]["validation_rows"], 200);
    assert_eq!(report["result"]["steps"], 300);
    assert!(
        report["result"]["best_validation_nll"]
            .as_f64()
            .unwrap()
            .is_finite()
    );

    // Eval twice (two loads) and on the same rows as .npy: the same figures.
    let eval_args = ["eval", "--model", "model", "--data", "test.csv", "--json"];
    let first = json(&ok(nflow(&eval_args, dir)));
    let second = json(&ok(nflow(&eval_args, dir)));
    assert_eq!(first, second, "a reload reproduces eval exactly");
    let npy = json(&ok(nflow(
        &["eval", "--model", "model", "--data", "test.npy", "--json"],
        dir,
    )));
    assert_eq!(npy["mean_log_likelihood"], first["mean_log_likelihood"]);
    assert_eq!(first["rows"], 500);
    let mean = first["mean_log_likelihood"].as_f64().unwrap();
    // The banana's entropy is about 2.1 nats; a short fit is worse but far from a broad guess.
    assert!(mean > -4.0 && mean < 0.0, "mean log-likelihood {mean}");
    assert!(first["two_standard_errors"].as_f64().unwrap() > 0.0);

    // Per-row values average to the reported mean.
    ok(nflow(
        &[
            "eval",
            "--model",
            "model",
            "--data",
            "test.csv",
            "--per-row",
            "rows.csv",
        ],
        dir,
    ));
    let per_row = std::fs::read_to_string(dir.join("rows.csv")).unwrap();
    let mut lines = per_row.lines();
    assert_eq!(lines.next(), Some("log_prob"));
    let values: Vec<f64> = lines.map(|l| l.parse().unwrap()).collect();
    assert_eq!(values.len(), 500);
    let per_row_mean = values.iter().sum::<f64>() / 500.0;
    assert!(
        (per_row_mean - mean).abs() < 1e-5,
        "{per_row_mean} vs {mean}"
    );
    let text = stdout(&ok(nflow(
        &["eval", "--model", "model", "--data", "test.csv"],
        dir,
    )));
    assert!(text.contains(" ± ") && text.contains("500 rows"), "{text}");

    // Sampling: the training header, seeded (same seed, same file), log-densities that eval agrees
    // with, and .npy output.
    let sample = |out: &str, seed: &str| {
        ok(nflow(
            &[
                "sample",
                "--model",
                "model",
                "-n",
                "300",
                "--seed",
                seed,
                "--with-log-prob",
                "--out",
                out,
            ],
            dir,
        ))
    };
    sample("a.csv", "7");
    sample("b.csv", "7");
    sample("c.csv", "8");
    let a = std::fs::read_to_string(dir.join("a.csv")).unwrap();
    assert_eq!(a, std::fs::read_to_string(dir.join("b.csv")).unwrap());
    assert_ne!(a, std::fs::read_to_string(dir.join("c.csv")).unwrap());
    assert!(a.starts_with("x,y,log_prob\n"));
    let rows: Vec<Vec<f64>> = a
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 300);
    let xy: Vec<Vec<f64>> = rows.iter().map(|r| r[..2].to_vec()).collect();
    write_csv(&dir.join("drawn.csv"), Some(&["x", "y"]), &xy);
    ok(nflow(
        &[
            "eval",
            "--model",
            "model",
            "--data",
            "drawn.csv",
            "--per-row",
            "drawn_lp.csv",
        ],
        dir,
    ));
    let rescored: Vec<f64> = std::fs::read_to_string(dir.join("drawn_lp.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.parse().unwrap())
        .collect();
    for (r, lp) in rows.iter().zip(&rescored) {
        assert!(
            (r[2] - lp).abs() < 1e-2,
            "sampled log_prob {} vs eval {lp}",
            r[2]
        );
    }
    ok(nflow(
        &["sample", "--model", "model", "-n", "10", "--out", "s.npy"],
        dir,
    ));
    let bytes = std::fs::read(dir.join("s.npy")).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    assert_eq!(npy.shape(), &[10, 2]);

    let info = json(&ok(nflow(&["info", "--model", "model", "--json"], dir)));
    assert_eq!(info["kind"], "MAF");
    assert_eq!(info["transformer"]["kind"], "affine");
    assert_eq!(info["features"], 2);
    assert_eq!(info["layers"], 2);
    assert_eq!(info["format_version"], 1);
    assert_eq!(info["data_columns"], serde_json::json!(["x", "y"]));
    assert!(info["parameters"].as_u64().unwrap() > 0);
    assert_eq!(info["training"]["steps"], 300);
    let text = stdout(&ok(nflow(&["info", "--model", "model"], dir)));
    assert!(
        text.contains("MAF") && text.contains("parameters"),
        "{text}"
    );

    // A spline IAF through the same command, from a --config file with flags over it.
    std::fs::write(
        dir.join("flow.json"),
        r#"{"layers": 3, "hidden_sizes": [8], "orientation": "maf"}"#,
    )
    .unwrap();
    ok(nflow(
        &[
            "train",
            "--data",
            "train.csv",
            "--config",
            "flow.json",
            "--flow",
            "iaf",
            "--transformer",
            "spline",
            "--bins",
            "4",
            "--steps",
            "20",
            "--eval-every",
            "10",
            "--quiet",
            "--out",
            "spline",
        ],
        dir,
    ));
    let info = json(&ok(nflow(&["info", "--model", "spline", "--json"], dir)));
    assert_eq!(info["kind"], "IAF");
    assert_eq!(info["transformer"]["kind"], "spline");
    assert_eq!(info["transformer"]["bins"], 4);
    assert_eq!(info["layers"], 3);
    assert_eq!(info["hidden_sizes"], serde_json::json!([8]));
}

#[test]
fn conditional_models_read_and_write_context_columns_in_place() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Columns: x, c (context), y; y depends on c.
    let mut rng = StdRng::seed_from_u64(3);
    let rows: Vec<Vec<f64>> = (0..1500)
        .map(|_| {
            let c = if rng.random::<bool>() { 1.0 } else { -1.0 };
            let x = normal(&mut rng);
            vec![x, c, 2.0 * c + 0.3 * normal(&mut rng)]
        })
        .collect();
    write_csv(&dir.join("train.csv"), Some(&["x", "c", "y"]), &rows);
    let mut args = vec![
        "train",
        "--data",
        "train.csv",
        "--context-columns",
        "1",
        "--out",
        "m",
    ];
    args.extend_from_slice(SMALL);
    ok(nflow(&args, dir));
    let info = json(&ok(nflow(&["info", "--model", "m", "--json"], dir)));
    assert_eq!(info["context_features"], 1);
    assert_eq!(info["context_columns"], serde_json::json!(["c"]));

    // The same model by prefix.
    let mut args = vec![
        "train",
        "--data",
        "train.csv",
        "--context-prefix",
        "c",
        "--out",
        "m2",
    ];
    args.extend_from_slice(SMALL);
    ok(nflow(&args, dir));
    assert_eq!(
        json(&ok(nflow(&["info", "--model", "m2", "--json"], dir)))["context_columns"],
        serde_json::json!(["c"])
    );

    ok(nflow(&["eval", "--model", "m", "--data", "train.csv"], dir));
    write_csv(&dir.join("ctx.csv"), Some(&["c"]), &[vec![1.0], vec![-1.0]]);
    ok(nflow(
        &[
            "sample",
            "--model",
            "m",
            "-n",
            "200",
            "--context",
            "ctx.csv",
            "--out",
            "s.csv",
        ],
        dir,
    ));
    let text = std::fs::read_to_string(dir.join("s.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("x,c,y"),
        "the training layout, context in place"
    );
    let drawn: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(drawn.len(), 400);
    for (half, c) in [(&drawn[..200], 1.0), (&drawn[200..], -1.0)] {
        assert!(half.iter().all(|r| r[1] == c));
        let mean_y = half.iter().map(|r| r[2]).sum::<f64>() / 200.0;
        assert!(
            (mean_y - 2.0 * c).abs() < 0.5,
            "y given c = {c}: mean {mean_y}"
        );
    }
    // The model's own file serves as eval input; sample output is eval input too.
    ok(nflow(&["eval", "--model", "m", "--data", "s.csv"], dir));
}

/// Runs a command that must fail on bad input: exit code 2, one line on stderr containing
/// `expect`, and `out` never created.
#[track_caller]
fn refused(dir: &Path, args: &[&str], expect: &str, out: &str) {
    let o = nflow(args, dir);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: one line, got {err:?}"
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(
        err.contains(expect),
        "{args:?}: expected {expect:?} in {err:?}"
    );
    assert!(!dir.join(out).exists(), "{args:?}: {out} was written");
    let leftovers: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn bad_input_is_one_line_exit_code_two_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let files: &[(&str, &str)] = &[
        ("text.csv", "a,b\n1,2\n3,oops\n"),
        ("ragged.csv", "a,b\n1,2\n3\n"),
        ("nan.csv", "a,b\n1,2\nNaN,4\n"),
        ("inf.csv", "1,2\n3,inf\n"),
        ("huge.csv", "1,2\n3,1e40\n"),
        ("empty.csv", ""),
        ("header.csv", "a,b\n"),
        ("three.csv", "a,b,c\n1,2,3\n4,5,6\n"),
        (
            "good.csv",
            "a,b\n1.5,2\n3.25,4.5\n-1.1,0.25\n2.2,2.1\n0.3,1.7\n",
        ),
        ("renamed.csv", "a,z\n1,2\n3,4\n"),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(dir.join("bad.npy"), b"not an npy file").unwrap();
    // (training data, extra options, the message expected).
    let cases: &[(&str, &[&str], &str)] = &[
        (
            "text.csv",
            &[],
            "text.csv: line 3, column 2 (\"b\"): \"oops\" is not a number",
        ),
        (
            "ragged.csv",
            &[],
            "ragged.csv: line 3: 1 field(s), expected 2",
        ),
        (
            "nan.csv",
            &[],
            "nan.csv: line 3, column 1 (\"a\"): \"NaN\" is not finite",
        ),
        (
            "inf.csv",
            &[],
            "inf.csv: line 2, column 2: \"inf\" is not finite",
        ),
        ("huge.csv", &[], "beyond the range of f32"),
        ("empty.csv", &[], "empty.csv: the file is empty"),
        (
            "header.csv",
            &[],
            "header.csv: the file has a header but no data rows",
        ),
        ("missing.csv", &[], "missing.csv: cannot open"),
        ("bad.npy", &[], "bad.npy: not a readable .npy file"),
        (
            "good.csv",
            &["--flow", "gaf"],
            "invalid value 'gaf' for '--flow <FLOW>'",
        ),
        (
            "good.csv",
            &["--transformer", "cubic"],
            "invalid value 'cubic'",
        ),
        (
            "good.csv",
            &["--context-columns", "5"],
            "--context-columns: column 5 does not exist",
        ),
        (
            "good.csv",
            &["--context-prefix", "q"],
            "no column of good.csv starts with it",
        ),
        ("good.csv", &["--bins", "4"], "add --transformer spline"),
        ("good.csv", &["--hidden", "0"], "invalid MADE configuration"),
        (
            "good.csv",
            &["--val", "three.csv"],
            "three.csv: 3 columns, but the model reads 2 columns",
        ),
        (
            "good.csv",
            &["--val", "renamed.csv"],
            "renamed.csv: column 2 is named \"z\"",
        ),
    ];
    for (data, extra, expect) in cases {
        let mut args = vec!["train", "--data", data, "--quiet", "--out", "out"];
        args.extend_from_slice(extra);
        refused(dir, &args, expect, "out");
    }

    // An output that exists is refused without --force, and left as it was.
    std::fs::write(dir.join("taken.csv"), "keep me").unwrap();
    let mut args = vec![
        "train",
        "--data",
        "good.csv",
        "--quiet",
        "--out",
        "taken.csv",
    ];
    let o = nflow(&args, dir);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("taken.csv: already exists; pass --force"));
    assert_eq!(
        std::fs::read_to_string(dir.join("taken.csv")).unwrap(),
        "keep me"
    );
    // --force never replaces something that is not a model directory.
    args.push("--force");
    args.extend(["--steps", "2", "--eval-every", "1", "--batch-size", "2"]);
    let o = nflow(&args, dir);
    assert_ne!(o.status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join("taken.csv")).unwrap(),
        "keep me"
    );

    // A model to evaluate and sample against.
    ok(nflow(
        &[
            "train",
            "--data",
            "good.csv",
            "--quiet",
            "--steps",
            "2",
            "--eval-every",
            "1",
            "--batch-size",
            "2",
            "--val-fraction",
            "0.4",
            "--out",
            "model",
        ],
        dir,
    ));
    let eval = |data: &'static str| {
        vec![
            "eval",
            "--model",
            "model",
            "--data",
            data,
            "--per-row",
            "lp.csv",
        ]
    };
    refused(
        dir,
        &eval("three.csv"),
        "three.csv: 3 columns, but the model reads 2 columns",
        "lp.csv",
    );
    refused(
        dir,
        &eval("renamed.csv"),
        "column 2 is named \"z\", but the model's column 2 is \"b\"",
        "lp.csv",
    );
    refused(dir, &eval("text.csv"), "is not a number", "lp.csv");
    refused(
        dir,
        &[
            "eval",
            "--model",
            "nowhere",
            "--data",
            "good.csv",
            "--per-row",
            "lp.csv",
        ],
        "nowhere: no such model directory",
        "lp.csv",
    );
    // A corrupt model: weights changed after saving (checksum), config missing.
    std::fs::create_dir(dir.join("corrupt")).unwrap();
    for f in ["flow.json", "flow.bpk"] {
        std::fs::copy(dir.join("model").join(f), dir.join("corrupt").join(f)).unwrap();
    }
    let mut weights = std::fs::read(dir.join("corrupt/flow.bpk")).unwrap();
    let last = weights.len() - 1;
    weights[last] ^= 1;
    std::fs::write(dir.join("corrupt/flow.bpk"), weights).unwrap();
    refused(
        dir,
        &[
            "eval",
            "--model",
            "corrupt",
            "--data",
            "good.csv",
            "--per-row",
            "lp.csv",
        ],
        "SHA-256",
        "lp.csv",
    );
    std::fs::remove_file(dir.join("corrupt/flow.json")).unwrap();
    refused(
        dir,
        &["sample", "--model", "corrupt", "-n", "3", "--out", "s.csv"],
        "corrupt: cannot load the model",
        "s.csv",
    );
    refused(
        dir,
        &[
            "sample",
            "--model",
            "model",
            "-n",
            "3",
            "--context",
            "good.csv",
            "--out",
            "s.csv",
        ],
        "the model is unconditional",
        "s.csv",
    );
    refused(
        dir,
        &["sample", "--model", "model", "-n", "0", "--out", "s.csv"],
        "-n must be at least 1",
        "s.csv",
    );
    refused(
        dir,
        &["sample", "--model", "model", "-n", "x", "--out", "s.csv"],
        "invalid value 'x'",
        "s.csv",
    );
    refused(
        dir,
        &[
            "sample",
            "--model",
            "model",
            "-n",
            "3",
            "--out",
            "no/such/dir/s.csv",
        ],
        "does not exist",
        "no",
    );
    std::fs::write(dir.join("s.csv"), "mine").unwrap();
    let o = nflow(
        &["sample", "--model", "model", "-n", "3", "--out", "s.csv"],
        dir,
    );
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(dir.join("s.csv")).unwrap(), "mine");
    ok(nflow(
        &[
            "sample", "--model", "model", "-n", "3", "--out", "s.csv", "--force",
        ],
        dir,
    ));
    assert!(
        std::fs::read_to_string(dir.join("s.csv"))
            .unwrap()
            .starts_with("a,b\n")
    );
}

#[test]
fn warnings_name_constant_discrete_and_repeated_columns() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut rng = StdRng::seed_from_u64(5);
    let mut rows: Vec<Vec<f64>> = (0..400)
        .map(|i| vec![normal(&mut rng), 4.0, (i % 6) as f64, normal(&mut rng)])
        .collect();
    let repeats: Vec<Vec<f64>> = rows[..20].to_vec();
    rows.extend(repeats);
    write_csv(
        &dir.join("w.csv"),
        Some(&["ok", "flat", "count", "ok2"]),
        &rows,
    );
    let o = ok(nflow(
        &[
            "train",
            "--data",
            "w.csv",
            "--quiet",
            "--steps",
            "2",
            "--eval-every",
            "1",
            "--out",
            "m",
        ],
        dir,
    ));
    let err = stderr(&o);
    assert!(
        err.contains("warning: w.csv: column \"flat\" is constant"),
        "{err}"
    );
    assert!(
        err.contains("column \"count\" is integer-valued (6 distinct values"),
        "{err}"
    );
    assert!(
        err.contains("20 of 420 rows (4.8%) repeat an earlier row"),
        "{err}"
    );
    assert!(!err.contains("\"ok\""), "{err}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("m/train_report.json")).unwrap())
            .unwrap();
    assert_eq!(report["warnings"].as_array().unwrap().len(), 3);
}

/// Full-covariance Gaussian fitted by maximum likelihood: mean log-density of `test`.
fn gaussian_mean_log_likelihood(train: &[Vec<f64>], test: &[Vec<f64>]) -> f64 {
    let d = train[0].len();
    let n = train.len() as f64;
    let mean: Vec<f64> = (0..d)
        .map(|j| train.iter().map(|r| r[j]).sum::<f64>() / n)
        .collect();
    let mut cov = vec![vec![0.0; d]; d];
    for r in train {
        for i in 0..d {
            for j in 0..d {
                cov[i][j] += (r[i] - mean[i]) * (r[j] - mean[j]) / n;
            }
        }
    }
    // Cholesky: cov = L Lᵀ.
    let mut l = vec![vec![0.0; d]; d];
    for i in 0..d {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            l[i][j] = if i == j {
                (cov[i][i] - s).sqrt()
            } else {
                (cov[i][j] - s) / l[j][j]
            };
        }
    }
    let log_det: f64 = (0..d).map(|i| 2.0 * l[i][i].ln()).sum();
    let total: f64 = test
        .iter()
        .map(|r| {
            // Solve L z = x − μ.
            let mut z = vec![0.0; d];
            for i in 0..d {
                let s: f64 = (0..i).map(|k| l[i][k] * z[k]).sum();
                z[i] = (r[i] - mean[i] - s) / l[i][i];
            }
            let q: f64 = z.iter().map(|v| v * v).sum();
            -0.5 * (d as f64 * (std::f64::consts::TAU).ln() + log_det + q)
        })
        .sum();
    total / test.len() as f64
}

/// An 8-D mixture of four Gaussians (means on a random spread, per-component scales): the MAF
/// fitted by `nflow train` beats the best single Gaussian (full covariance) by a clear margin.
#[test]
fn maf_beats_a_full_covariance_gaussian_on_an_8d_mixture() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let d = 8;
    let mut rng = StdRng::seed_from_u64(11);
    let means: Vec<Vec<f64>> = (0..4)
        .map(|_| (0..d).map(|_| 3.0 * normal(&mut rng)).collect())
        .collect();
    let scales: Vec<Vec<f64>> = (0..4)
        .map(|_| (0..d).map(|_| 0.3 + 0.7 * rng.random::<f64>()).collect())
        .collect();
    let mut draw = |n: usize| -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| {
                let k = rng.random_range(0..4);
                (0..d)
                    .map(|j| means[k][j] + scales[k][j] * normal(&mut rng))
                    .collect()
            })
            .collect()
    };
    let train = draw(6000);
    let test = draw(2000);
    write_csv(&dir.join("train.csv"), None, &train);
    write_csv(&dir.join("test.csv"), None, &test);
    ok(nflow(
        &[
            "train",
            "--data",
            "train.csv",
            "--steps",
            "1500",
            "--batch-size",
            "256",
            "--quiet",
            "--out",
            "m",
        ],
        dir,
    ));
    let maf = json(&ok(nflow(
        &["eval", "--model", "m", "--data", "test.csv", "--json"],
        dir,
    )))["mean_log_likelihood"]
        .as_f64()
        .unwrap();
    let gaussian = gaussian_mean_log_likelihood(&train, &test);
    println!(
        "8-D mixture, test log-likelihood: MAF {maf:.3}, full-covariance Gaussian {gaussian:.3}"
    );
    assert!(
        maf > gaussian + 3.0,
        "MAF {maf:.3} should beat the Gaussian {gaussian:.3} by at least 3 nats per row"
    );
}
