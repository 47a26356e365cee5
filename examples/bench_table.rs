//! Prints the benchmark results that criterion saved as markdown tables.
//!
//! `scripts/bench-table.sh` runs the benchmarks and then this program on
//! criterion's directories: `cargo run --release --example bench_table -- DIR..`
//! (default `target/criterion`: every group found there).
//! Each cell comes from the samples of the last run: the median time per
//! operation and the interquartile range (p25-p75) as the spread.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// Group order and titles; other groups follow in name order.
const GROUPS: [(&str, &str); 5] = [
    (
        "transfer-1t",
        "Transfer between two of 64 accounts, 1 thread",
    ),
    (
        "transfer-2t",
        "Transfer between two of 64 accounts, 2 threads",
    ),
    ("read-only-1t", "Read-only sum of 64 accounts, 1 thread"),
    ("read-only-2t", "Read-only sum of 64 accounts, 2 threads"),
    (
        "invariants",
        "Write one of N accounts, each with its own invariant",
    ),
];

/// Contender order: ours, the peer STMs, the hand-written floor of the
/// technique, then the locks.
const CONTENDERS: [&str; 7] = [
    "steadfast",
    "stm 0.4",
    "async-stm 0.5",
    "hand-written TL2",
    "Mutex<Vec<i64>>",
    "RwLock<Vec<i64>>",
    "Vec<Mutex<i64>>",
];

/// One benchmark's result: nanoseconds per operation.
struct Result {
    function: String,
    value: Option<String>,
    median: f64,
    p25: f64,
    p75: f64,
}

/// The string value of `"key":"..."` in criterion's flat JSON (`None` for null).
fn string_field(json: &str, key: &str) -> Option<String> {
    let start = json.find(&format!("\"{key}\":"))? + key.len() + 3;
    let rest = json[start..].strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_string())
}

/// The numbers of `"key":[...]`.
fn number_array(json: &str, key: &str) -> Vec<f64> {
    let Some(start) = json.find(&format!("\"{key}\":[")) else {
        return Vec::new();
    };
    let rest = &json[start + key.len() + 4..];
    rest[..rest.find(']').unwrap_or(0)]
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect()
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Reads `dir/new/{benchmark,sample}.json`; returns the group and the result.
fn read_result(dir: &Path) -> Option<(String, Result)> {
    let meta = fs::read_to_string(dir.join("benchmark.json")).ok()?;
    let sample = fs::read_to_string(dir.join("sample.json")).ok()?;
    let iters = number_array(&sample, "iters");
    let times = number_array(&sample, "times");
    let mut per_op: Vec<f64> = iters.iter().zip(&times).map(|(i, t)| t / i).collect();
    if per_op.is_empty() {
        return None;
    }
    per_op.sort_by(f64::total_cmp);
    let result = Result {
        function: string_field(&meta, "function_id")?,
        value: string_field(&meta, "value_str"),
        median: quantile(&per_op, 0.5),
        p25: quantile(&per_op, 0.25),
        p75: quantile(&per_op, 0.75),
    };
    Some((string_field(&meta, "group_id")?, result))
}

/// Every `new/` directory under `root` (criterion's latest run).
fn result_dirs(root: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") {
                found.push(path);
            } else {
                result_dirs(&path, found);
            }
        }
    }
}

/// Nanoseconds with three significant digits.
fn ns(t: f64) -> String {
    if t >= 100.0 {
        format!("{t:.0}")
    } else if t >= 10.0 {
        format!("{t:.1}")
    } else {
        format!("{t:.2}")
    }
}

fn spread(r: &Result) -> String {
    format!("{}-{}", ns(r.p25), ns(r.p75))
}

/// How steadfast compares with `other` (ratio of medians).
fn versus(steadfast: f64, other: f64) -> String {
    if other >= steadfast {
        format!("{:.1}x faster", other / steadfast)
    } else {
        format!("{:.1}x slower", steadfast / other)
    }
}

fn contender_table(results: &mut [Result]) {
    results.sort_by_key(|r| {
        let rank = CONTENDERS.iter().position(|c| *c == r.function);
        (rank.unwrap_or(CONTENDERS.len()), r.function.clone())
    });
    let ours = results
        .iter()
        .find(|r| r.function == "steadfast")
        .map(|r| r.median);
    println!("| contender | median ns/op | p25-p75 ns | Mops/s | steadfast is |");
    println!("|---|---:|---:|---:|---|");
    for r in results.iter() {
        let cmp = match ours {
            Some(_) if r.function == "steadfast" => "-".to_string(),
            Some(ours) => versus(ours, r.median),
            None => String::new(),
        };
        println!(
            "| `{}` | {} | {} | {:.1} | {} |",
            r.function,
            ns(r.median),
            spread(r),
            1e3 / r.median,
            cmp
        );
    }
}

/// Rows by parameter (N), columns "none" and "checked", and what the
/// invariant adds to a transaction.
fn invariant_table(results: &[Result]) {
    let mut rows: Vec<&str> = Vec::new();
    for r in results {
        let v = r.value.as_deref().unwrap_or("");
        if !rows.contains(&v) {
            rows.push(v);
        }
    }
    rows.sort_by_key(|v| (v.len(), v.to_string()));
    let cell = |f: &str, v: &str| {
        results
            .iter()
            .find(|r| r.function == f && r.value.as_deref().unwrap_or("") == v)
    };
    let first = rows
        .first()
        .and_then(|v| cell("checked", v))
        .map(|r| r.median);
    println!(
        "| accounts | no invariants, ns/op (p25-p75) | one invariant each, ns/op (p25-p75) \
         | invariant adds | checked vs first row |"
    );
    println!("|---|---:|---:|---:|---:|");
    for v in rows {
        let (none, checked) = (cell("none", v), cell("checked", v));
        let show = |r: Option<&Result>| {
            r.map(|r| format!("{} ({})", ns(r.median), spread(r)))
                .unwrap_or_default()
        };
        let adds = match (none, checked) {
            (Some(n), Some(c)) => format!("{} ns", ns(c.median - n.median)),
            _ => String::new(),
        };
        let ratio = match (first, checked) {
            (Some(f), Some(c)) => format!("{:.2}x", c.median / f),
            _ => String::new(),
        };
        println!(
            "| {v} | {} | {} | {adds} | {ratio} |",
            show(none),
            show(checked)
        );
    }
}

fn main() {
    let mut roots: Vec<String> = std::env::args().skip(1).collect();
    if roots.is_empty() {
        roots.push("target/criterion".to_string());
    }
    let mut dirs = Vec::new();
    for root in &roots {
        result_dirs(Path::new(root), &mut dirs);
    }
    let mut groups: BTreeMap<String, Vec<Result>> = BTreeMap::new();
    for dir in dirs {
        if let Some((group, result)) = read_result(&dir) {
            groups.entry(group).or_default().push(result);
        }
    }
    if groups.is_empty() {
        eprintln!("no criterion results under {roots:?}: run the benchmarks first");
        std::process::exit(1);
    }
    let mut order: Vec<String> = GROUPS.iter().map(|(g, _)| g.to_string()).collect();
    order.extend(
        groups
            .keys()
            .filter(|g| !order.contains(g))
            .cloned()
            .collect::<Vec<_>>(),
    );
    for group in order {
        let Some(results) = groups.get_mut(&group) else {
            continue;
        };
        let title = GROUPS
            .iter()
            .find(|(g, _)| *g == group)
            .map_or(group.as_str(), |(_, t)| t);
        println!("### {title}\n");
        if results.iter().any(|r| r.value.is_some()) {
            invariant_table(results);
        } else {
            contender_table(results);
        }
        println!();
    }
}
