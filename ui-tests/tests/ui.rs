//! Runs every case in `ui/`: files named `pass-*.rs` must compile (and their
//! `main` run); every other file is one misuse that must fail to compile with
//! the message recorded in its `.stderr` file.

use std::path::PathBuf;

#[test]
fn ui() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the ui directory exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "rs"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 20,
        "expected the ui cases in {}",
        dir.display()
    );
    let t = trybuild::TestCases::new();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy();
        let relative = format!("ui/{name}");
        if name.starts_with("pass-") {
            t.pass(relative);
        } else {
            t.compile_fail(relative);
        }
    }
}
